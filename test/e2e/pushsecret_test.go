package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	esv1alpha1 "github.com/vigil-dev/vigil/api/externalsecrets/v1alpha1"
	genv1alpha1 "github.com/vigil-dev/vigil/api/generators/v1alpha1"
	"github.com/vigil-dev/vigil/test/harness"
)

// pushEntry is one spec.data entry: secretKey ("" for the whole Secret) to remoteKey,
// into property when set.
func pushEntry(secretKey, remoteKey, property string) esv1alpha1.PushSecretData {
	return esv1alpha1.PushSecretData{Match: esv1alpha1.PushSecretMatch{
		SecretKey: secretKey, RemoteRef: esv1alpha1.PushSecretRemoteRef{RemoteKey: remoteKey, Property: property},
	}}
}

// pushSecret pushes the Secret source of ns to the SecretStore store.
func pushSecret(ns, name, store, source string, data ...esv1alpha1.PushSecretData) *esv1alpha1.PushSecret {
	return &esv1alpha1.PushSecret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: esv1alpha1.PushSecretSpec{
			SecretStoreRefs: []esv1alpha1.PushSecretStoreRef{{Name: store, Kind: esv1.SecretStoreKind}},
			Selector:        esv1alpha1.PushSecretSelector{Secret: &esv1alpha1.PushSecretSecret{Name: source}},
			Data:            data,
		},
	}
}

// sourceSecret is a Secret of ns whose values the secrecy check looks for in logs and events.
func sourceSecret(ns, name string, data map[string]string) *corev1.Secret {
	for _, v := range data {
		rememberValue(v)
	}
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, StringData: data}
}

// pushSM is a Secrets Manager client of moto.
func pushSM(t testing.TB, ctx context.Context) *secretsmanager.Client {
	t.Helper()
	cfg, err := moto.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return secretsmanager.NewFromConfig(cfg)
}

// remoteValue reads a Secrets Manager secret's current value (string or binary); found is
// false when it does not exist or is scheduled for deletion.
func remoteValue(t testing.TB, ctx context.Context, name string) (value string, found bool) {
	t.Helper()
	out, err := pushSM(t, ctx).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
	var nf *smtypes.ResourceNotFoundException
	var ir *smtypes.InvalidRequestException
	if errors.As(err, &nf) || errors.As(err, &ir) {
		return "", false
	}
	if err != nil {
		t.Fatalf("reading %s: %v", name, err)
	}
	if out.SecretString != nil {
		return *out.SecretString, true
	}
	return string(out.SecretBinary), true
}

// remoteTags reads a Secrets Manager secret's tags.
func remoteTags(t *testing.T, ctx context.Context, name string) map[string]string {
	t.Helper()
	out, err := sm(t, ctx).DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(name)})
	if err != nil {
		t.Fatalf("describing %s: %v", name, err)
	}
	tags := map[string]string{}
	for _, tag := range out.Tags {
		tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
	}
	return tags
}

// waitRemote waits until the Secrets Manager secret holds want.
func waitRemote(h *harness.T, name, want string) {
	h.Helper()
	h.Eventually(name+" to hold the pushed value", func(ctx context.Context) (bool, error) {
		v, ok := remoteValue(h, ctx, name)
		return ok && v == want, nil
	})
}

// A PushSecret writes one key and the whole Secret to Secrets Manager, tagged as ESO tags
// what it creates; the status records what was pushed, kubectl prints ESO's columns, and a
// changed source is pushed again at the next push while an unchanged one makes no version.
func TestPushSecret_PushesToSecretsManager(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ns := h.NewNamespace()
	one, all := ns+"/push/password", ns+"/push/all"
	h.Create(awsStore(ns, "aws"), sourceSecret(ns, "app", map[string]string{"password": "pushed-pw-1a2b", "user": "app-user-9z"}))
	ps := pushSecret(ns, "app", "aws", "app", pushEntry("password", one, ""), pushEntry("", all, ""))
	h.Create(ps)
	key := types.NamespacedName{Namespace: ns, Name: "app"}
	got := h.WaitPushed(key)

	if v, _ := remoteValue(t, h.Ctx, one); v != "pushed-pw-1a2b" {
		t.Errorf("%s does not hold the Secret's password key", one)
	}
	var whole map[string]string
	v, _ := remoteValue(t, h.Ctx, all)
	if err := json.Unmarshal([]byte(v), &whole); err != nil || whole["password"] != "pushed-pw-1a2b" || whole["user"] != "app-user-9z" || len(whole) != 2 {
		t.Errorf("%s is not the whole Secret as a JSON object of strings (keys %d)", all, len(whole))
	}
	if tags := remoteTags(t, h.Ctx, one); tags["managed-by"] != "external-secrets" {
		t.Errorf("a pushed secret is not tagged managed-by=external-secrets: %v", tags)
	}
	synced := got.Status.SyncedPushSecrets["SecretStore/aws"]
	if _, ok := synced[one]; !ok || len(synced) != 2 {
		t.Errorf("status.syncedPushSecrets = %v, want both remote keys under SecretStore/aws", got.Status.SyncedPushSecrets)
	}
	if c := harness.PushReady(got); c.Message != "PushSecret synced successfully" || got.Status.RefreshTime.IsZero() {
		t.Errorf("Ready %+v, refreshTime %v", c, got.Status.RefreshTime)
	}
	h.WaitEvent(ns, "PushSecret", "app", esv1alpha1.ReasonSynced)
	checkPushSecretColumns(h, ns)

	// An unchanged source makes no new version when pushed again.
	versions := versionCount(t, h.Ctx, one)
	h.ForcePush(key)
	got = h.WaitPushedSince(key, got.Status.SyncedResourceVersion)
	if n := versionCount(t, h.Ctx, one); n != versions {
		t.Errorf("pushing an unchanged value made a new version (%d versions, was %d)", n, versions)
	}
	// A changed source is pushed at the next push.
	src := &corev1.Secret{}
	h.Get(types.NamespacedName{Namespace: ns, Name: "app"}, src)
	rememberValue("pushed-pw-2c3d")
	src.Data["password"] = []byte("pushed-pw-2c3d")
	if err := h.Client.Update(h.Ctx, src); err != nil {
		t.Fatal(err)
	}
	h.ForcePush(key)
	h.WaitPushedSince(key, got.Status.SyncedResourceVersion)
	waitRemote(h, one, "pushed-pw-2c3d")
}

// versionCount is how many versions a Secrets Manager secret has.
func versionCount(t *testing.T, ctx context.Context, name string) int {
	t.Helper()
	out, err := sm(t, ctx).ListSecretVersionIds(ctx, &secretsmanager.ListSecretVersionIdsInput{SecretId: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	return len(out.Versions)
}

// checkPushSecretColumns: `kubectl get pushsecrets` prints ESO's columns, STATUS reading
// Synced.
func checkPushSecretColumns(h *harness.T, ns string) {
	h.Helper()
	table, err := harness.GetTable(h.Ctx, cp.Config, "/apis/external-secrets.io/v1alpha1/namespaces/"+ns+"/pushsecrets")
	if err != nil {
		h.Fatal(err)
	}
	var names []string
	for _, c := range table.ColumnDefinitions {
		names = append(names, c.Name)
	}
	want := []string{"Name", "AGE", "Status", "Last Sync"}
	if len(names) != len(want) {
		h.Fatalf("columns %v, want %v", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			h.Errorf("columns %v, want %v", names, want)
		}
	}
	if len(table.Rows) != 1 || table.Rows[0].Cells[2] != "Synced" {
		h.Errorf("rows %v, want one whose Status is Synced", table.Rows)
	}
}

// updatePolicy IfNotExists leaves a remote value that exists as it is (and says so), while
// Replace (the default) overwrites it; a remote secret Vigil did not create is not
// overwritten without Replace (IfNotExists with a property it lacks is refused), and is never
// deleted by deletionPolicy Delete.
func TestPushSecret_UpdatePolicies(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ns := h.NewNamespace()
	remote := ns + "/push/existing"
	h.PutRemote(remote, `{"owner":"someone-else-7f"}`)
	h.Create(awsStore(ns, "aws"), sourceSecret(ns, "src", map[string]string{"token": "tenant-token-5e6f"}))

	keep := pushSecret(ns, "keep", "aws", "src", pushEntry("token", remote, ""))
	keep.Spec.UpdatePolicy = esv1alpha1.PushSecretUpdatePolicyIfNotExists
	h.Create(keep)
	got := h.WaitPushed(types.NamespacedName{Namespace: ns, Name: "keep"})
	if c := harness.PushReady(got); c.Message != "PushSecret synced successfully. Existing secrets in providers unchanged." {
		t.Errorf("Ready message %q, want ESO's for IfNotExists", c.Message)
	}
	if v, _ := remoteValue(t, h.Ctx, remote); v != `{"owner":"someone-else-7f"}` {
		t.Error("IfNotExists changed a remote value that exists")
	}

	// IfNotExists with a property the unmanaged secret lacks would write into it: refused.
	prop := pushSecret(ns, "prop", "aws", "src", pushEntry("token", remote, "token"))
	prop.Spec.UpdatePolicy = esv1alpha1.PushSecretUpdatePolicyIfNotExists
	h.Create(prop)
	propKey := types.NamespacedName{Namespace: ns, Name: "prop"}
	ps := h.WaitPushMessage(propKey, "not managed by external-secrets")
	if c := harness.PushReady(ps); c.Reason != esv1alpha1.ReasonErrored {
		t.Errorf("reason %q, want Errored", c.Reason)
	}
	if v, _ := remoteValue(t, h.Ctx, remote); v != `{"owner":"someone-else-7f"}` {
		t.Error("an unmanaged remote secret was written without updatePolicy Replace")
	}

	// Replace says so: the property is merged into the remote JSON, the rest kept.
	h.Get(propKey, ps)
	ps.Spec.UpdatePolicy = esv1alpha1.PushSecretUpdatePolicyReplace
	ps.Spec.DeletionPolicy = esv1alpha1.PushSecretDeletionPolicyDelete
	if err := h.Client.Update(h.Ctx, ps); err != nil {
		t.Fatal(err)
	}
	h.WaitPushed(propKey)
	waitRemote(h, remote, `{"owner":"someone-else-7f","token":"tenant-token-5e6f"}`)
	if tags := remoteTags(t, h.Ctx, remote); tags["managed-by"] != "" {
		t.Errorf("overwriting made Vigil the owner of a secret it did not create: %v", tags)
	}
	// Deleting the PushSecret (deletionPolicy Delete) leaves the secret it did not create.
	h.Delete(ps)
	if _, ok := remoteValue(t, h.Ctx, remote); !ok {
		t.Error("deletionPolicy Delete deleted a remote secret Vigil did not create")
	}
}

// deletionPolicy Delete deletes what a PushSecret pushed when it is deleted, and a remote key
// removed from spec.data at once; None keeps the remote secret.
func TestPushSecret_DeletionPolicy(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ns := h.NewNamespace()
	a, b, kept := ns+"/push/del-a", ns+"/push/del-b", ns+"/push/kept"
	h.Create(awsStore(ns, "aws"), sourceSecret(ns, "src", map[string]string{"k": "deleted-value-3g4h"}))

	del := pushSecret(ns, "del", "aws", "src", pushEntry("k", a, ""), pushEntry("k", b, ""))
	del.Spec.DeletionPolicy = esv1alpha1.PushSecretDeletionPolicyDelete
	none := pushSecret(ns, "none", "aws", "src", pushEntry("k", kept, ""))
	h.Create(del, none)
	delKey := types.NamespacedName{Namespace: ns, Name: "del"}
	got := h.WaitPushed(delKey)
	h.WaitPushed(types.NamespacedName{Namespace: ns, Name: "none"})
	if len(got.Finalizers) != 1 || got.Finalizers[0] != "pushsecret.externalsecrets.io/finalizer" {
		t.Errorf("finalizers %v, want ESO's", got.Finalizers)
	}

	got.Spec.Data = got.Spec.Data[:1]
	if err := h.Client.Update(h.Ctx, got); err != nil {
		t.Fatal(err)
	}
	got = h.WaitPushed(delKey)
	if _, ok := remoteValue(t, h.Ctx, b); ok {
		t.Error("a remote key removed from spec.data was not deleted (deletionPolicy Delete)")
	}
	if _, ok := got.Status.SyncedPushSecrets["SecretStore/aws"][b]; ok {
		t.Error("status.syncedPushSecrets still lists the removed key")
	}

	h.Delete(got)
	if _, ok := remoteValue(t, h.Ctx, a); ok {
		t.Error("deleting the PushSecret did not delete its remote secret (deletionPolicy Delete)")
	}
	h.Delete(&esv1alpha1.PushSecret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "none"}})
	if _, ok := remoteValue(t, h.Ctx, kept); !ok {
		t.Error("deletionPolicy None deleted the remote secret")
	}
}

// Two entries with properties build one JSON secret; a generator can be the source.
func TestPushSecret_PropertiesAndGenerator(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ns := h.NewNamespace()
	merged, generated := ns+"/push/merged", ns+"/push/generated"
	h.Create(awsStore(ns, "aws"), sourceSecret(ns, "src", map[string]string{"user": "merge-user-6j", "pass": "merge-pass-7k8l"}))
	h.Create(pushSecret(ns, "merge", "aws", "src", pushEntry("user", merged, "db.user"), pushEntry("pass", merged, "db.pass")))
	h.WaitPushed(types.NamespacedName{Namespace: ns, Name: "merge"})
	waitRemote(h, merged, `{"db":{"user":"merge-user-6j","pass":"merge-pass-7k8l"}}`)

	digits, symbols := 0, 0
	h.Create(&genv1alpha1.Password{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pw"},
		Spec: genv1alpha1.PasswordSpec{Length: 24, Digits: &digits, Symbols: &symbols, AllowRepeat: true}})
	gen := pushSecret(ns, "gen", "aws", "", pushEntry("password", generated, ""))
	gen.Spec.Selector = esv1alpha1.PushSecretSelector{GeneratorRef: &esv1.GeneratorRef{
		APIVersion: "generators.external-secrets.io/v1alpha1", Kind: "Password", Name: "pw"}}
	h.Create(gen)
	h.WaitPushed(types.NamespacedName{Namespace: ns, Name: "gen"})
	if v, ok := remoteValue(t, h.Ctx, generated); !ok || len(v) != 24 {
		t.Errorf("the generated password was not pushed (found %v, %d bytes)", ok, len(v))
	}
}

// A PushSecret writes to Parameter Store with PutParameter, tagged managed-by, and its
// metadata's tags added with AddTagsToResource.
func TestPushSecret_PushesToParameterStore(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ns := h.NewNamespace()
	name := "/" + ns + "/push/param"
	store := awsStore(ns, "ssm")
	store.Spec.Provider.AWS.Service = esv1.AWSServiceParameterStore
	h.Create(store, sourceSecret(ns, "src", map[string]string{"k": "param-value-9m0n"}))
	ps := pushSecret(ns, "param", "ssm", "src", pushEntry("k", name, ""))
	ps.Spec.Data[0].Metadata = &apiextensionsv1.JSON{Raw: []byte(`{"apiVersion":"kubernetes.external-secrets.io/v1alpha1",` +
		`"kind":"PushSecretMetadata","spec":{"secretType":"SecureString","tags":{"team":"payments"}}}`)}
	h.Create(ps)
	h.WaitPushed(types.NamespacedName{Namespace: ns, Name: "param"})
	cfg, err := moto.AWSConfig(h.Ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := ssm.NewFromConfig(cfg)
	out, err := c.GetParameter(h.Ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Parameter.Value) != "param-value-9m0n" || out.Parameter.Type != ssmtypes.ParameterTypeSecureString {
		t.Errorf("parameter of type %s does not hold the pushed value", out.Parameter.Type)
	}
	tags, err := c.ListTagsForResource(h.Ctx, &ssm.ListTagsForResourceInput{
		ResourceType: ssmtypes.ResourceTypeForTaggingParameter, ResourceId: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, tag := range tags.TagList {
		got[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
	}
	if got["managed-by"] != "external-secrets" || got["team"] != "payments" {
		t.Errorf("tags %v, want managed-by=external-secrets and team=payments", got)
	}
}

// A PushSecret reads only its own namespace's Secret: a name that exists only in another
// namespace is reported missing, and nothing is pushed.
func TestPushSecret_ReadsOnlyItsNamespace(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ns, other := h.NewNamespace(), h.NewNamespace()
	remote := ns + "/push/isolation"
	h.Create(awsStore(ns, "aws"), sourceSecret(other, "theirs", map[string]string{"k": "other-ns-value-1p"}))
	h.Create(pushSecret(ns, "steal", "aws", "theirs", pushEntry("k", remote, "")))
	h.WaitPushMessage(types.NamespacedName{Namespace: ns, Name: "steal"}, `Secret "theirs" does not exist in namespace "`+ns+`"`)
	if _, ok := remoteValue(t, h.Ctx, remote); ok {
		t.Error("a PushSecret pushed another namespace's Secret")
	}
}

// Limits: too many entries and a value too large are refused with the limit named.
func TestPushSecret_RefusesOverLimits(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ns := h.NewNamespace()
	big := make([]byte, 600<<10)
	for i := range big {
		big[i] = 'x'
	}
	h.Create(awsStore(ns, "aws"), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "big"}, Data: map[string][]byte{"k": big}})
	h.Create(pushSecret(ns, "big", "aws", "big", pushEntry("k", ns+"/push/big", "")))
	h.WaitPushMessage(types.NamespacedName{Namespace: ns, Name: "big"}, "more than the 524288 bytes a PushSecret may push in one value")

	var many []esv1alpha1.PushSecretData
	for i := 0; i < 101; i++ {
		many = append(many, pushEntry("k", ns+"/push/many", ""))
	}
	h.Create(pushSecret(ns, "many", "aws", "big", many...))
	h.WaitPushMessage(types.NamespacedName{Namespace: ns, Name: "many"}, "more than the 100 one PushSecret may push")
}

// The guardrails hold at push time: a PushSecret admitted before its namespace got a secret
// prefix, whose remote key is outside it, is blocked (PolicyViolation) and writes nothing.
func TestPushSecret_GateBlocksKeyOutsidePrefix(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ns := h.NewNamespace()
	remote := "elsewhere/" + ns + "/push/gated"
	h.Create(awsStore(ns, "aws"), pushSecret(ns, "gated", "aws", "later", pushEntry("k", remote, "")))
	key := types.NamespacedName{Namespace: ns, Name: "gated"}
	h.WaitPushMessage(key, `Secret "later" does not exist`)

	nsObj := &corev1.Namespace{}
	h.Get(types.NamespacedName{Name: ns}, nsObj)
	nsObj.Annotations = map[string]string{"vigil.dev/secret-prefix": ns + "/"}
	if err := h.Client.Update(h.Ctx, nsObj); err != nil {
		t.Fatal(err)
	}
	h.Create(sourceSecret(ns, "later", map[string]string{"k": "gated-value-2q3r"}))
	h.ForcePush(key)
	ps := h.WaitPushMessage(key, "blocked by policy")
	if c := harness.PushReady(ps); c.Reason != "PolicyViolation" || !strings.Contains(c.Message, "pushsecret-key-outside-prefix") {
		t.Errorf("Ready %+v, want PolicyViolation naming pushsecret-key-outside-prefix", c)
	}
	if _, ok := remoteValue(t, h.Ctx, remote); ok {
		t.Error("a PushSecret blocked by policy wrote its remote key")
	}
}
