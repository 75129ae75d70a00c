package aws

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/vigil-dev/vigil/providers"
)

// Find implements providers.Finder. Secrets Manager reads up to 20 secrets per
// BatchGetSecretValue call, filtered on the server by name prefix and tags; Parameter Store
// reads a path recursively with GetParametersByPath. The name expression is applied here.
func (c *storeClient) Find(ctx context.Context, ref providers.FindRef) (map[string][]byte, error) {
	var re *regexp.Regexp
	if ref.Name != "" {
		var err error
		if re, err = regexp.Compile(ref.Name); err != nil {
			return nil, providers.Configf("find.name.regexp %q: %v", ref.Name, err)
		}
	}
	keep := func(name string) bool { return re == nil || re.MatchString(name) }
	if c.sm != nil {
		return c.findSecrets(ctx, ref, keep)
	}
	if len(ref.Tags) > 0 {
		return nil, providers.Configf("find.tags is not supported for Parameter Store; select parameters by path and name")
	}
	return c.findParameters(ctx, ref, keep)
}

func (c *storeClient) findSecrets(ctx context.Context, ref providers.FindRef, keep func(string) bool) (map[string][]byte, error) {
	var filters []smtypes.Filter
	if p := c.prefix + ref.Path; p != "" {
		filters = append(filters, smtypes.Filter{Key: smtypes.FilterNameStringTypeName, Values: []string{p}})
	}
	for k, v := range ref.Tags {
		filters = append(filters,
			smtypes.Filter{Key: smtypes.FilterNameStringTypeTagKey, Values: []string{k}},
			smtypes.Filter{Key: smtypes.FilterNameStringTypeTagValue, Values: []string{v}})
	}
	if len(filters) == 0 {
		// BatchGetSecretValue needs a filter; "all" is every name.
		filters = append(filters, smtypes.Filter{Key: smtypes.FilterNameStringTypeAll, Values: []string{""}})
	}
	out := map[string][]byte{}
	pages := secretsmanager.NewBatchGetSecretValuePaginator(c.sm, &secretsmanager.BatchGetSecretValueInput{Filters: filters, MaxResults: aws.Int32(20)})
	for pages.HasMorePages() {
		start := time.Now()
		page, err := pages.NextPage(ctx)
		c.observe(metricProviderSM, "BatchGetSecretValue", err, time.Since(start))
		if err != nil {
			return nil, err
		}
		for _, e := range page.Errors {
			return nil, fmt.Errorf("reading %s: %s", aws.ToString(e.SecretId), aws.ToString(e.ErrorCode))
		}
		for _, v := range page.SecretValues {
			name := strings.TrimPrefix(aws.ToString(v.Name), c.prefix)
			if !keep(name) || !strings.HasPrefix(name, ref.Path) {
				continue
			}
			if v.SecretString != nil {
				out[name] = []byte(*v.SecretString)
			} else {
				out[name] = v.SecretBinary
			}
		}
	}
	return out, nil
}

func (c *storeClient) findParameters(ctx context.Context, ref providers.FindRef, keep func(string) bool) (map[string][]byte, error) {
	path := c.prefix + ref.Path
	if path == "" {
		path = "/"
	}
	out := map[string][]byte{}
	pages := ssm.NewGetParametersByPathPaginator(c.ssm, &ssm.GetParametersByPathInput{Path: aws.String(path), Recursive: aws.Bool(true), WithDecryption: aws.Bool(true)})
	for pages.HasMorePages() {
		start := time.Now()
		page, err := pages.NextPage(ctx)
		c.observe(metricProviderSSM, "GetParametersByPath", err, time.Since(start))
		if err != nil {
			return nil, err
		}
		for _, p := range page.Parameters {
			name := strings.TrimPrefix(aws.ToString(p.Name), c.prefix)
			if keep(name) {
				out[name] = []byte(aws.ToString(p.Value))
			}
		}
	}
	return out, nil
}
