package secretsmanager_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	local "github.com/atrium-cdn/atrium/infra/local/secretsmanager"
)

// The real SDK client, pointed at the local endpoint.
func Example() {
	hs := httptest.NewServer(local.New(local.Options{}))
	defer hs.Close()

	client := sm.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(hs.URL),
	})
	ctx := context.Background()

	if _, err := client.CreateSecret(ctx, &sm.CreateSecretInput{
		Name:         aws.String("demo"),
		SecretString: aws.String("s3cr3t"),
	}); err != nil {
		fmt.Println(err)
		return
	}
	out, err := client.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("demo")})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(*out.SecretString, out.VersionStages)

	_, err = client.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("missing")})
	var notFound *types.ResourceNotFoundException
	fmt.Println(errors.As(err, &notFound), notFound.ErrorMessage())
	// Output:
	// s3cr3t [AWSCURRENT]
	// true Secrets Manager can't find the specified secret.
}
