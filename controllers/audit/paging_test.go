package audit_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/controllers/audit"
	"github.com/vigil-dev/vigil/policy"
	"github.com/vigil-dev/vigil/test/harness"
)

// pageCounter is an API-server reader that records the limit of each ExternalSecret list
// and how many objects each page held.
type pageCounter struct {
	client.Reader
	mu            sync.Mutex
	limits, pages []int64
}

func (p *pageCounter) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	err := p.Reader.List(ctx, list, opts...)
	if l, ok := list.(*esv1.ExternalSecretList); ok && err == nil {
		o := (&client.ListOptions{}).ApplyOptions(opts)
		p.mu.Lock()
		p.limits, p.pages = append(p.limits, o.Limit), append(p.pages, int64(len(l.Items)))
		p.mu.Unlock()
	}
	return err
}

// With sharding, the replica that audits reads every shard's ExternalSecrets from the API
// server, and reads them in pages, judging each before the next, so the audit never holds
// every ExternalSecret of the cluster at once: 5 ExternalSecrets read 2 at a time come in
// three pages (2, 2, 1) and all 5 are audited.
func TestAudit_ReadsExternalSecretsInPages(t *testing.T) {
	ctx := context.Background()
	cp, err := harness.StartControlPlane()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cp.Stop() }()
	if err := cp.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "paged"}}); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		es := &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Namespace: "paged", Name: fmt.Sprintf("es-%d", i)},
			Spec: esv1.ExternalSecretSpec{
				SecretStoreRef: esv1.SecretStoreRef{Name: "store", Kind: esv1.SecretStoreKind},
				Data: []esv1.ExternalSecretData{{SecretKey: "password",
					RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: "db"}}},
			}}
		if err := cp.Client.Create(ctx, es); err != nil {
			t.Fatal(err)
		}
	}
	holder, err := policy.NewHolder(ctx)
	if err != nil {
		t.Fatal(err)
	}
	holder.Set(holder.Get())
	gate := &policy.Gate{Builder: &policy.Builder{Client: cp.Client}, Policies: holder, Op: policy.OpAudit}
	a := audit.NewAuditor(cp.Client, gate, nil, 0)
	counter := &pageCounter{Reader: cp.Client}
	a.ExternalSecrets = counter

	audited, err := audit.AuditedObjects(ctx, a, 2)
	if err != nil {
		t.Fatal(err)
	}
	if audited["paged"] != 5 {
		t.Errorf("audited %v, want the 5 ExternalSecrets of namespace paged", audited)
	}
	if !slices.Equal(counter.limits, []int64{2, 2, 2}) || !slices.Equal(counter.pages, []int64{2, 2, 1}) {
		t.Errorf("ExternalSecret lists with limits %v returned pages of %v, want limits [2 2 2] and pages [2 2 1]",
			counter.limits, counter.pages)
	}
}
