package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"software.sslmate.com/src/go-pkcs12"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
)

// A template shapes the Secret: its type, labels, and keys rendered from the fetched values
// (Replace keeps only the rendered keys).
func TestTemplate_TypeMetadataAndRenderedKeys(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ns := h.NewNamespace()
	h.PutRemote(ns+"/db", `{"user":"app","pass":"tpl-p@ss-1"}`)
	es := externalSecret(ns, "db", "store", ns+"/db", map[string]string{"user": "user", "pass": "pass"})
	es.Spec.Target.Template = &esv1.ExternalSecretTemplate{
		Type:     corev1.SecretTypeBasicAuth,
		Metadata: esv1.ExternalSecretTemplateMetadata{Labels: map[string]string{"app": "payments"}},
		Data: map[string]string{
			"username": "{{ .user }}",
			"password": "{{ .pass }}",
			"dsn":      "postgres://{{ .user }}:{{ .pass | urlquery }}@db:5432/app",
		},
	}
	h.Create(awsStore(ns, "store"), es)
	s := h.WaitSecretValue(ns, "db", "dsn", "postgres://app:tpl-p%40ss-1@db:5432/app")
	if s.Type != corev1.SecretTypeBasicAuth || s.Labels["app"] != "payments" {
		t.Errorf("type %s labels %v, want kubernetes.io/basic-auth and app=payments", s.Type, s.Labels)
	}
	if got := keys(s.Data); strings.Join(got, ",") != "dsn,password,username" {
		t.Errorf("keys %v, want only the rendered ones", got)
	}
}

// templateFrom a ConfigMap (KeysAndValues) with mergePolicy Merge adds rendered keys to the
// fetched ones.
func TestTemplate_FromConfigMapMerge(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ns := h.NewNamespace()
	h.PutRemote(ns+"/db", `{"user":"app","pass":"tpl-p@ss-2"}`)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tpl"}, Data: map[string]string{
		"config": "{{ .user }}.conf: host=db user={{ .user }}",
	}}
	es := externalSecret(ns, "db", "store", ns+"/db", map[string]string{"user": "user", "pass": "pass"})
	es.Spec.Target.Template = &esv1.ExternalSecretTemplate{MergePolicy: "Merge", TemplateFrom: []esv1.TemplateFrom{{
		ConfigMap: &esv1.TemplateRef{Name: "tpl", Items: []esv1.TemplateRefItem{{Key: "config", TemplateAs: "KeysAndValues"}}},
	}}}
	h.Create(cm, awsStore(ns, "store"), es)
	s := h.WaitSecretValue(ns, "db", "app.conf", "host=db user=app")
	if string(s.Data["pass"]) != "tpl-p@ss-2" {
		t.Errorf("Merge dropped the fetched keys: %v", keys(s.Data))
	}
}

// A template that fails names the template key and the reason, never a value, and leaves the
// Secret alone.
func TestTemplate_ErrorNamesTheKey(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ns := h.NewNamespace()
	h.PutRemote(ns+"/db", `{"user":"app","pass":"tpl-p@ss-3"}`)
	es := externalSecret(ns, "db", "store", ns+"/db", map[string]string{"pass": "pass"})
	es.Spec.Target.Template = &esv1.ExternalSecretTemplate{Data: map[string]string{"cert": `{{ .pass | filterPEM "CERTIFICATE" }}`}}
	h.Create(awsStore(ns, "store"), es)
	got := h.WaitReason(types.NamespacedName{Namespace: ns, Name: "db"}, esv1.ReasonSecretSyncedError)
	msg := readyMessage(got)
	if !strings.Contains(msg, `spec.target.template.data["cert"]`) || !strings.Contains(msg, "no CERTIFICATE block") {
		t.Errorf("message %q does not name the template key and reason", msg)
	}
	assertNoValue(t, msg, "tpl-p@ss-3")
}

// A PKCS#12 archive stored base64-encoded becomes a kubernetes.io/tls Secret through
// decodingStrategy Base64 and the pkcs12cert / pkcs12key template helpers.
func TestTemplate_PKCS12ToTLSSecret(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ns := h.NewNamespace()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "pkcs12." + ns}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pfx, err := pkcs12.Modern.Encode(key, cert, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	h.PutRemote(ns+"/keystore", base64.StdEncoding.EncodeToString(pfx))
	es := externalSecret(ns, "tls", "store", ns+"/keystore", nil)
	es.Spec.Data = []esv1.ExternalSecretData{{SecretKey: "archive", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: ns + "/keystore", DecodingStrategy: esv1.DecodingStrategyBase64}}}
	es.Spec.Target.Template = &esv1.ExternalSecretTemplate{Type: corev1.SecretTypeTLS, Data: map[string]string{
		"tls.crt": "{{ .archive | pkcs12cert }}",
		"tls.key": "{{ .archive | pkcs12key }}",
	}}
	h.Create(awsStore(ns, "store"), es)
	h.WaitReason(types.NamespacedName{Namespace: ns, Name: "tls"}, esv1.ReasonSecretSynced)
	s := h.Secret(ns, "tls")
	pair, err := tls.X509KeyPair(s.Data["tls.crt"], s.Data["tls.key"])
	if err != nil {
		t.Fatalf("tls.crt and tls.key do not form a key pair: %v", err)
	}
	if leaf, err := x509.ParseCertificate(pair.Certificate[0]); err != nil || leaf.Subject.CommonName != "pkcs12."+ns {
		t.Errorf("certificate %v, %v; want CN pkcs12.%s", leaf.Subject, err, ns)
	}
	if s.Type != corev1.SecretTypeTLS {
		t.Errorf("type %s, want kubernetes.io/tls", s.Type)
	}
}

// A templateFrom that names a ConfigMap that does not exist says which entry and which
// ConfigMap; creating the ConfigMap lets the sync succeed.
func TestTemplate_MissingTemplateFromConfigMap(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ns := h.NewNamespace()
	h.PutRemote(ns+"/db", `{"user":"app"}`)
	es := externalSecret(ns, "db", "store", ns+"/db", map[string]string{"user": "user"})
	es.Spec.Target.Template = &esv1.ExternalSecretTemplate{TemplateFrom: []esv1.TemplateFrom{{
		ConfigMap: &esv1.TemplateRef{Name: "absent-tpl", Items: []esv1.TemplateRefItem{{Key: "config"}}},
	}}}
	h.Create(awsStore(ns, "store"), es)
	key := types.NamespacedName{Namespace: ns, Name: "db"}
	h.WaitMessage(key, "spec.target.template.templateFrom[0]")
	got := h.WaitMessage(key, "absent-tpl")
	if msg := readyMessage(got); !strings.Contains(msg, "not found") {
		t.Errorf("message %q does not say the ConfigMap is missing", msg)
	}
	h.Create(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "absent-tpl"}, Data: map[string]string{"config": "user={{ .user }}"}})
	h.WaitSecretValue(ns, "db", "config", "user=app")
}
