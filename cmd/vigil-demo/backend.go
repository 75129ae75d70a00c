package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/vigil-dev/vigil/test/harness"
)

// startBackend starts moto and the fault proxy the controller reaches it through.
func (d *demo) startBackend() error {
	step("Starting moto, the local stand-in for AWS",
		"Vigil talks to it as to AWS, through the SDK's standard AWS_ENDPOINT_URL; nothing in Vigil knows moto.")
	moto, err := harness.StartMoto()
	if err != nil {
		return err
	}
	d.onClose(moto.Close)
	d.moto = moto
	// The controller's requests pass a proxy, so that the demo can break the backend for
	// Vigil alone (every request refused) and heal it, while moto keeps its data.
	proxy, err := harness.StartFaultProxy(moto.URL)
	if err != nil {
		return err
	}
	d.onClose(proxy.Close)
	d.proxy = proxy
	fmt.Println("    moto:", moto.URL, "  the controller's AWS_ENDPOINT_URL:", proxy.URL)
	return nil
}

// seedBackend stores the seed's remote secret and creates the seed's IAM role.
func (d *demo) seedBackend() error {
	step("Storing "+remoteKey+" in Secrets Manager and creating the IAM role "+roleName,
		"The role carries the seed's least-privilege policy; the guardrails read it through IAM.")
	value, err := os.ReadFile(filepath.Join(d.seed, "remote-secret-prod-payments-db.json"))
	if err != nil {
		return err
	}
	if err := d.putRemote(string(value)); err != nil {
		return err
	}
	if _, err := d.env.CreateMotoRole(d.ctx, roleName, "iam-policy-scoped.json"); err != nil {
		return err
	}
	fmt.Println("    secretsmanager:GetSecretValue on " +
		"arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/payments/*")
	return nil
}

// putRemote stores the remote secret's value (creating the secret the first time).
func (d *demo) putRemote(value string) error {
	if err := d.env.PutRemote(d.ctx, remoteKey, value); err != nil {
		return err
	}
	d.value = value
	return nil
}

// rotatePassword returns the remote JSON with a new password: the seed's password ends in
// a counter (…-0001), which the rotation moves on.
func rotatePassword(value string) (string, error) {
	var fields map[string]string
	if err := json.Unmarshal([]byte(value), &fields); err != nil {
		return "", fmt.Errorf("the seed's remote secret is not a JSON object of strings: %w", err)
	}
	old := fields["password"]
	n, _ := strconv.Atoi(old[max(0, len(old)-4):])
	fields["password"] = fmt.Sprintf("s3cr3t-rotated-%04d", n+1)
	out, err := json.Marshal(fields)
	return string(out), err
}
