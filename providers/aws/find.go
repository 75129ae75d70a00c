package aws

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/vigil-dev/vigil/providers"
)

// Find implements providers.Finder. Secrets Manager reads up to 20 secrets per
// BatchGetSecretValue call, filtered on the server by name prefix and tags; Parameter Store
// reads a path recursively with GetParametersByPath (DescribeParameters when tags filter).
// The name expression is applied here.
func (c *storeClient) Find(ctx context.Context, ref providers.FindRef) (map[string][]byte, error) {
	keep, err := providers.FindName(ref.Name)
	if err != nil {
		return nil, err
	}
	if c.sm != nil {
		return c.findSecrets(ctx, ref, keep)
	}
	if len(ref.Tags) > 0 {
		return c.findTaggedParameters(ctx, ref, keep)
	}
	return c.findParameters(ctx, ref, keep)
}

func (c *storeClient) findSecrets(ctx context.Context, ref providers.FindRef,
	keep func(string) bool) (map[string][]byte, error) {
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
	out := providers.NewFindResults()
	pages := secretsmanager.NewBatchGetSecretValuePaginator(c.sm,
		&secretsmanager.BatchGetSecretValueInput{Filters: filters, MaxResults: aws.Int32(20)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, c.apiError("BatchGetSecretValue", "", err)
		}
		for _, e := range page.Errors {
			return nil, fmt.Errorf("reading %s: %s", aws.ToString(e.SecretId), aws.ToString(e.ErrorCode))
		}
		for _, v := range page.SecretValues {
			// The server's name filter is a case-insensitive prefix match, so a name may
			// come back that is not under the store's prefix (PROD/… for prod/…): keep only
			// names under it, compared as IAM and the prefix rule compare them.
			full := aws.ToString(v.Name)
			name := strings.TrimPrefix(full, c.prefix)
			if !strings.HasPrefix(full, c.prefix) || !keep(name) || !strings.HasPrefix(name, ref.Path) {
				continue
			}
			value := v.SecretBinary
			if v.SecretString != nil {
				value = []byte(*v.SecretString)
			}
			if err := out.Add(name, value); err != nil {
				return nil, err
			}
		}
	}
	return out.Values(), nil
}

func (c *storeClient) findParameters(ctx context.Context, ref providers.FindRef,
	keep func(string) bool) (map[string][]byte, error) {
	path := c.prefix + ref.Path
	if path == "" {
		path = "/"
	}
	out := providers.NewFindResults()
	pages := ssm.NewGetParametersByPathPaginator(c.ssm,
		&ssm.GetParametersByPathInput{Path: aws.String(path), Recursive: aws.Bool(true), WithDecryption: aws.Bool(true)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, c.apiError("GetParametersByPath", "", err)
		}
		for _, p := range page.Parameters {
			name := strings.TrimPrefix(aws.ToString(p.Name), c.prefix)
			if !keep(name) {
				continue
			}
			if err := out.Add(name, []byte(aws.ToString(p.Value))); err != nil {
				return nil, err
			}
		}
	}
	return out.Values(), nil
}

// findTaggedParameters serves find.tags on Parameter Store: GetParametersByPath cannot
// filter by tag, so DescribeParameters selects the names (tag and path filters on the
// server), and GetParameters reads them ten at a time, decrypted.
func (c *storeClient) findTaggedParameters(ctx context.Context, ref providers.FindRef,
	keep func(string) bool) (map[string][]byte, error) {
	var filters []ssmtypes.ParameterStringFilter
	if path := c.prefix + ref.Path; path != "" && path != "/" {
		filters = append(filters,
			ssmtypes.ParameterStringFilter{Key: aws.String("Path"), Option: aws.String("Recursive"),
				Values: []string{strings.TrimSuffix(path, "/")}})
	}
	for k, v := range ref.Tags {
		filters = append(filters,
			ssmtypes.ParameterStringFilter{Key: aws.String("tag:" + k), Option: aws.String("Equals"), Values: []string{v}})
	}
	var names []string
	pages := ssm.NewDescribeParametersPaginator(c.ssm,
		&ssm.DescribeParametersInput{ParameterFilters: filters, MaxResults: aws.Int32(50)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, c.apiError("DescribeParameters", "", err)
		}
		for _, p := range page.Parameters {
			full := aws.ToString(p.Name)
			name := strings.TrimPrefix(full, c.prefix)
			if strings.HasPrefix(full, c.prefix) && strings.HasPrefix(name, ref.Path) && keep(name) {
				names = append(names, full)
			}
		}
		if len(names) > providers.MaxFindResults {
			return nil, providers.TooManyFound() // the names alone break the limit: read no value
		}
	}
	out := providers.NewFindResults()
	for batch := range slices.Chunk(names, 10) { // GetParameters takes at most 10 names
		res, err := c.ssm.GetParameters(ctx, &ssm.GetParametersInput{Names: batch, WithDecryption: aws.Bool(true)})
		if err != nil {
			return nil, c.apiError("GetParameters", "", err)
		}
		for _, p := range res.Parameters {
			if err := out.Add(strings.TrimPrefix(aws.ToString(p.Name), c.prefix), []byte(aws.ToString(p.Value))); err != nil {
				return nil, err
			}
		}
	}
	return out.Values(), nil
}

// ListNames implements providers.NameLister: one ListSecrets (or DescribeParameters) call
// for the names under the key's parent, metadata only, never a value.
func (c *storeClient) ListNames(ctx context.Context, key string) ([]string, error) {
	parent := providers.ParentPrefix(c.prefix + key)
	var full []string
	if c.sm != nil {
		in := &secretsmanager.ListSecretsInput{MaxResults: aws.Int32(providers.MaxSuggestNames)}
		if parent != "" {
			in.Filters = []smtypes.Filter{{Key: smtypes.FilterNameStringTypeName, Values: []string{parent}}}
		}
		out, err := c.sm.ListSecrets(ctx, in)
		if err != nil {
			return nil, c.apiError("ListSecrets", key, err)
		}
		for _, s := range out.SecretList {
			full = append(full, aws.ToString(s.Name))
		}
	} else {
		in := &ssm.DescribeParametersInput{MaxResults: aws.Int32(50)} // DescribeParameters' most
		if parent != "" {
			in.ParameterFilters = []ssmtypes.ParameterStringFilter{
				{Key: aws.String("Name"), Option: aws.String("BeginsWith"), Values: []string{parent}}}
		}
		out, err := c.ssm.DescribeParameters(ctx, in)
		if err != nil {
			return nil, c.apiError("DescribeParameters", key, err)
		}
		for _, p := range out.Parameters {
			full = append(full, aws.ToString(p.Name))
		}
	}
	var names []string
	for _, n := range full {
		if strings.HasPrefix(n, c.prefix) {
			names = append(names, strings.TrimPrefix(n, c.prefix))
		}
	}
	return names, nil
}
