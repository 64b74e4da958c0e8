package cfn

import (
	"strings"
	"testing"
)

const streamTemplate = `
Resources:
  T:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
      BillingMode: PAY_PER_REQUEST
      StreamSpecification: {StreamViewType: KEYS_ONLY}
  FFunction:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Route: {Type: HttpApi, Properties: {Path: /x, Method: GET}}
        New:
          Type: DynamoDB
          Properties:
            Stream: !GetAtt T.StreamArn
            StartingPosition: LATEST
            BatchSize: 7
            MaximumRetryAttempts: 2
            FunctionResponseTypes: [ReportBatchItemFailures]
            FilterCriteria:
              Filters:
                - Pattern: '{"eventName":["INSERT","MODIFY"],"dynamodb":{"Keys":{"pk":{"S":[{"prefix":"JOB#"}]}}}}'
                - Pattern: '{"eventName":["REMOVE"]}'
`

func TestStreamEvents(t *testing.T) {
	tpl, err := Parse([]byte(streamTemplate))
	if err != nil {
		t.Fatal(err)
	}
	evs, err := tpl.StreamEvents()
	if err != nil || len(evs) != 1 {
		t.Fatalf("%v %+v", err, evs)
	}
	e := evs[0]
	if e.Function != "FFunction" || e.Name != "New" || e.Table != "T" || e.StartingPosition != "LATEST" || e.BatchSize != 7 ||
		e.MaximumRetryAttempts != 2 || !e.ReportBatchItemFailures || len(e.Filters) != 2 {
		t.Errorf("%+v", e)
	}
	for rec, want := range map[string]bool{
		`{"eventName":"INSERT","dynamodb":{"Keys":{"pk":{"S":"JOB#1"}}}}`:   true,
		`{"eventName":"MODIFY","dynamodb":{"Keys":{"pk":{"S":"JOB#"}}}}`:    true,
		`{"eventName":"REMOVE","dynamodb":{"Keys":{"pk":{"S":"OTHER#1"}}}}`: true,  // the second filter
		`{"eventName":"INSERT","dynamodb":{"Keys":{"pk":{"S":"OTHER#1"}}}}`: false, // prefix
		`{"eventName":"INSERT","dynamodb":{"Keys":{"pk":{"N":"1"}}}}`:       false, // no S
		`{"eventName":"INSERT","dynamodb":{"Keys":{"pk":{"S":1}}}}`:         false, // not a string
		`{"eventName":"INSERT"}`: false, // no keys
		`{"eventName":["INSERT"],"dynamodb":{"Keys":{"pk":{"S":"JOB#1"}}}}`: true,  // a list matches by any element
		`{"dynamodb":{"Keys":{"pk":{"S":"JOB#1"}}}}`:                        false, // no event name
	} {
		if got, err := e.Delivers([]byte(rec)); err != nil || got != want {
			t.Errorf("%s: %v %v, want %v", rec, got, err, want)
		}
	}
	if _, err := e.Delivers([]byte("{")); err == nil {
		t.Error("a record that is not JSON was judged")
	}
}

func TestStreamEventsErrors(t *testing.T) {
	for name, c := range map[string]struct{ from, to, want string }{
		"stream of a table by name": {"Stream: !GetAtt T.StreamArn", "Stream: arn:aws:dynamodb:x", "is not !GetAtt"},
		"starting position":         {"StartingPosition: LATEST", "StartingPosition: AT_TIMESTAMP", "StartingPosition"},
		"batch size":                {"BatchSize: 7", "BatchSize: 0", "BatchSize"},
		"retries":                   {"MaximumRetryAttempts: 2", "MaximumRetryAttempts: -2", "MaximumRetryAttempts"},
		"response type":             {"[ReportBatchItemFailures]", "[Other]", "FunctionResponseTypes"},
		"numeric range":             {`[{"prefix":"JOB#"}]`, `[{"numeric":[">",1]}]`, "only {\"prefix\""},
		"anything-but":              {`[{"prefix":"JOB#"}]`, `[{"anything-but":"x"}]`, "only {\"prefix\""},
		"empty list":                {`["REMOVE"]`, `[]`, "matches nothing"},
		"scalar field":              {`["REMOVE"]`, `"REMOVE"`, "must be an object or a list"},
		"not JSON":                  {`'{"eventName":["REMOVE"]}'`, `'{'`, "not JSON"},
		"no filters":                {"              Filters:\n                - Pattern: '{\"eventName\":[\"INSERT\",\"MODIFY\"],\"dynamodb\":{\"Keys\":{\"pk\":{\"S\":[{\"prefix\":\"JOB#\"}]}}}}'\n                - Pattern: '{\"eventName\":[\"REMOVE\"]}'\n", "              Filters: []\n", "no Filters"},
	} {
		t.Run(name, func(t *testing.T) {
			if !strings.Contains(streamTemplate, c.from) {
				t.Fatalf("the template has no %q", c.from)
			}
			tpl, err := Parse([]byte(strings.Replace(streamTemplate, c.from, c.to, 1)))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tpl.StreamEvents(); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one saying %q", err, c.want)
			}
		})
	}
}
