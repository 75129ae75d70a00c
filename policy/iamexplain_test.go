package policy

import (
	"encoding/json"
	"testing"
)

func explainDoc(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestExplainDenial(t *testing.T) {
	const action, res = "secretsmanager:GetSecretValue", "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db-xxxxxx"
	allowApp := `{"Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"arn:aws:secretsmanager:*:*:secret:app/*"}]}`
	for name, tc := range map[string]struct {
		policies []IAMPolicy
		want     Denial
	}{
		"no allow": {[]IAMPolicy{{Name: "p", Document: explainDoc(t, `{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}`)}},
			Denial{Kind: DenialNotGranted}},
		"explicit deny": {[]IAMPolicy{{Name: "allow", Document: explainDoc(t, allowApp)},
			{Name: "guard", Document: explainDoc(t, `{"Statement":[{"Effect":"Deny","Action":"secretsmanager:Get*","Resource":"*"}]}`)}},
			Denial{Kind: DenialExplicit, Policy: "guard"}},
		"boundary": {[]IAMPolicy{{Name: "allow", Document: explainDoc(t, allowApp)},
			{Name: "cap", Boundary: true, Document: explainDoc(t, `{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)}},
			Denial{Kind: DenialBoundary, Policy: "cap"}},
		"allowed": {[]IAMPolicy{{Name: "allow", Document: explainDoc(t, allowApp)}}, Denial{Kind: DenialElsewhere}},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := ExplainDenial(tc.policies, action, res)
			if err != nil || got != tc.want {
				t.Errorf("ExplainDenial = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}
