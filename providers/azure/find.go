package azure

import (
	"context"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/vigil-dev/vigil/providers"
)

// Find implements providers.Finder: it lists the vault's secrets (enabled ones, as ESO),
// keeps those whose name starts with find.path, matches find.name and carries every tag,
// and reads them. Names are the secrets' names.
func (c *Client) Find(ctx context.Context, ref providers.FindRef) (map[string][]byte, error) {
	matches, err := providers.FindName(ref.Name)
	if err != nil {
		return nil, err
	}
	names, err := c.listSecrets(ctx, 0, func(p *azsecrets.SecretProperties) bool {
		name := p.ID.Name()
		return strings.HasPrefix(name, ref.Path) && matches(name) && hasTags(p.Tags, ref.Tags)
	})
	if err != nil {
		return nil, err
	}
	out := providers.NewFindResults()
	for _, name := range names {
		if err := out.Room(); err != nil {
			return nil, err
		}
		v, err := c.GetSecret(ctx, providers.Ref{Key: name})
		if err != nil {
			return nil, err
		}
		if err := out.Add(name, v); err != nil {
			return nil, err
		}
	}
	return out.Values(), nil
}

// listSecrets pages through the vault's secrets and returns the names of the enabled ones
// keep accepts, looking at no more than providers.MaxFindScanned (and pages pages, 0 all).
func (c *Client) listSecrets(ctx context.Context, pages int, keep func(*azsecrets.SecretProperties) bool) ([]string,
	error) {
	pager := c.secrets.NewListSecretPropertiesPager(nil)
	var names []string
	scanned := 0
	for read := 0; pager.More() && (pages == 0 || read < pages); read++ {
		var page azsecrets.ListSecretPropertiesResponse
		err := c.call("GetSecrets", func() (e error) { page, e = pager.NextPage(ctx); return })
		if err != nil {
			return nil, c.describe(err, "", typeSecret, permList)
		}
		for _, p := range page.Value {
			if scanned++; scanned > providers.MaxFindScanned {
				return nil, providers.LimitError("find listed more than %d secrets of the vault before filtering "+
					"them, the most one find may look at; use a vault with fewer secrets", providers.MaxFindScanned)
			}
			if p == nil || p.ID == nil || p.Attributes == nil || p.Attributes.Enabled == nil || !*p.Attributes.Enabled {
				continue
			}
			if p.Managed != nil && *p.Managed {
				continue // a certificate's own secret: read it as cert/<name> or secret/<name>
			}
			if keep(p) {
				names = append(names, p.ID.Name())
			}
		}
	}
	return names, nil
}

func hasTags(have map[string]*string, want map[string]string) bool {
	for k, v := range want {
		if t, ok := have[k]; !ok || t == nil || *t != v {
			return false
		}
	}
	return true
}

// ListNames implements providers.NameLister: the names of the vault's secrets, for the
// "did you mean" hint of a missing key: one page (one call).
func (c *Client) ListNames(ctx context.Context, key string) ([]string, error) {
	if objType, _, err := splitKey(key); err != nil || objType != typeSecret {
		return nil, nil
	}
	var names []string
	_, err := c.listSecrets(ctx, 1, func(p *azsecrets.SecretProperties) bool {
		if len(names) < providers.MaxSuggestNames {
			names = append(names, p.ID.Name())
		}
		return false
	})
	return names, err
}
