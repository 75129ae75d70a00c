package render

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
)

// testCert returns a self-signed certificate and its key, as PEM.
func testCert(t *testing.T, cn string) (certPEM, keyPEM string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	k, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: k}))
}

// A certificate and key packed with pemToPkcs12Pass come back out of the archive with
// pkcs12certPass and pkcs12keyPass, through templates as a user writes them.
func TestPKCS12_RoundTripThroughTemplates(t *testing.T) {
	cert, key := testCert(t, "leaf")
	ca, _ := testCert(t, "ca")
	render := func(data map[string][]byte, tmpl map[string]string) map[string][]byte {
		t.Helper()
		out, err := Render(context.Background(), nil, Input{Template: &esv1.ExternalSecretTemplate{Data: tmpl}, Data: data})
		if err != nil {
			t.Fatal(err)
		}
		return out.Data
	}
	packed := render(map[string][]byte{"cert": []byte(cert + ca), "key": []byte(key)}, map[string]string{
		"p12":      `{{ pemToPkcs12Pass .cert .key "s3cret" }}`,
		"full.p12": `{{ fullPemToPkcs12 .cert .key }}`,
	})
	archive, err := base64.StdEncoding.DecodeString(string(packed["p12"]))
	if err != nil {
		t.Fatalf("pemToPkcs12Pass output is not base64: %v", err)
	}
	full, err := base64.StdEncoding.DecodeString(string(packed["full.p12"]))
	if err != nil {
		t.Fatal(err)
	}
	out := render(map[string][]byte{"p12": archive, "full": full}, map[string]string{
		"tls.crt": `{{ .p12 | pkcs12certPass "s3cret" }}`,
		"tls.key": `{{ .p12 | pkcs12keyPass "s3cret" }}`,
		"chain":   `{{ .full | pkcs12cert }}`,
	})
	if string(out["tls.crt"]) != cert {
		t.Errorf("pkcs12certPass did not return the packed certificate")
	}
	if string(out["tls.key"]) != key {
		t.Errorf("pkcs12keyPass did not return the packed key")
	}
	if string(out["chain"]) != cert+ca {
		t.Errorf("fullPemToPkcs12 then pkcs12cert did not keep the chain (%d certificates)", strings.Count(string(out["chain"]), "BEGIN CERTIFICATE"))
	}
	wrong := &esv1.ExternalSecretTemplate{Data: map[string]string{"k": `{{ .p12 | pkcs12keyPass "wrong" }}`}}
	if _, err := Render(context.Background(), nil, Input{Template: wrong, Data: map[string][]byte{"p12": archive}}); err == nil || !strings.Contains(err.Error(), "pkcs12key") {
		t.Errorf("a wrong password: %v, want a pkcs12key error", err)
	}
}

// An archive that asks for billions of key-derivation iterations is refused before the
// library starts on them; one with an ordinary count decodes.
func TestPKCS12_RefusesHugeIterationCounts(t *testing.T) {
	certPEM, keyPEM := testCert(t, "iterations")
	block, _ := pem.Decode([]byte(certPEM))
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := pem.Decode([]byte(keyPEM))
	key, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	// 70000 is encoded as the INTEGER 02 03 01 11 70; patched to 02 03 7f ff ff it says
	// 8388607, with the same length.
	archive, err := pkcs12.Modern.WithIterations(70000).Encode(key, cert, nil, "pw")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pkcs12certPass("pw", string(archive)); err != nil {
		t.Fatalf("an ordinary archive: %v", err)
	}
	hostile := bytes.ReplaceAll(archive, []byte{2, 3, 1, 0x11, 0x70}, []byte{2, 3, 0x7f, 0xff, 0xff})
	if bytes.Equal(hostile, archive) {
		t.Fatal("the iteration count was not found to patch")
	}
	start := time.Now()
	for _, fn := range []func(string, string) (string, error){pkcs12certPass, pkcs12keyPass} {
		if _, err := fn("pw", string(hostile)); err == nil || !strings.Contains(err.Error(), "key-derivation iterations") {
			t.Errorf("error %v, want the iteration limit", err)
		}
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("refusing took %s", took)
	}
}
