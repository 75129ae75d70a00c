package policy

import (
	"encoding/json"
	"testing"
	"time"
)

func TestScratch(t *testing.T) {
	for _, d := range []string{
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"*"}]}`,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"arn:aws:secretsmanager:us-east-1:123456789012:secret:*-??????"}]}`,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"arn:aws:secretsmanager:us-east-1:123456789012:secret:*x*"}]}`,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/payments/*"}]}`,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"secretsmanager:*","NotResource":"arn:aws:secretsmanager:*:*:secret:prod/payments/*"}, {"Effect":"Deny","Action":"ssm:*","Resource":"*"}]}`,
	} {
		var doc map[string]any
		json.Unmarshal([]byte(d), &doc)
		start := time.Now()
		fs, err := EvaluateIAM([]IAMPolicy{{Name: "p", Document: doc}}, IAMSubject{RoleARN: "arn:aws:iam::123456789012:role/r", Region: "us-east-1", Prefixes: []string{"prod/payments/"}})
		out, _ := json.Marshal(fs)
		t.Logf("%v %s err=%v\n%s", time.Since(start), d, err, out)
	}
}
