package throttle_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/atrium-cdn/atrium/infra/local/stack"
	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/shared/ids"
	"github.com/atrium-cdn/atrium/shared/statetable"
	"github.com/atrium-cdn/atrium/shared/throttle"
)

// TestALateWriterKeepsTheNewerWindow: a request whose clock still reads
// the end of window N but whose write lands after requests of window N+1
// (clocks a few milliseconds apart) neither erases window N+1's count nor
// shortens the counter's life below what window N+1 needs; requests of
// window N+1 after it are still refused.
func TestALateWriterKeepsTheNewerWindow(t *testing.T) {
	for _, tc := range []struct {
		name   string
		window time.Duration
		max    int
		// use makes one request of the subject, reporting whether it passed.
		use func(ctx context.Context, s *throttle.Store, subject string, l throttle.Limit) (bool, error)
	}{
		{"Allow", time.Minute, 3, func(ctx context.Context, s *throttle.Store, subject string, l throttle.Limit) (bool, error) {
			retry, err := s.Allow(ctx, "test", subject, l)
			return retry == 0, err
		}},
		{"Take", time.Hour, 2, func(ctx context.Context, s *throttle.Store, subject string, l throttle.Limit) (bool, error) {
			return s.Take(ctx, "test", subject, l)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := testenv.NewStack(t)
			db := stack.DynamoDBClient(st.DynamoDBEndpoint)
			table := st.Tables["StateTable"]
			w := tc.window.Milliseconds()
			boundary := time.UnixMilli((time.Now().UnixMilli()/w + 2) * w)
			late := throttle.NewStore(db, table, throttle.DefaultPolicy(), testenv.NewClock(boundary.Add(-time.Millisecond)).Now)
			early := throttle.NewStore(db, table, throttle.DefaultPolicy(), testenv.NewClock(boundary.Add(time.Millisecond)).Now)
			ctx := context.Background()
			l := throttle.Limit{Max: tc.max, Window: tc.window}
			subject := ids.New("subj")
			passed := func(s *throttle.Store, n int) int {
				t.Helper()
				ok := 0
				for range n {
					got, err := tc.use(ctx, s, subject, l)
					if err != nil {
						t.Fatal(err)
					}
					if got {
						ok++
					}
				}
				return ok
			}
			if n := passed(early, tc.max+2); n != tc.max {
				t.Fatalf("window N+1: %d passed, want %d", n, tc.max)
			}
			passed(late, 1) // window N's request, landing last
			got, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table),
				Key: throttle.RateKey("test", subject).AV(), ConsistentRead: aws.Bool(true)})
			if err != nil {
				t.Fatal(err)
			}
			if need := boundary.Add(2 * tc.window); statetable.Expired(got.Item, need.Add(-time.Second)) {
				t.Errorf("the counter expires before %s, which window N+1 needs", need)
			}
			if n := passed(early, tc.max+2); n != 0 {
				t.Errorf("window N+1 after the late request: %d more passed, want 0 (limit %d)", n, tc.max)
			}
		})
	}
}
