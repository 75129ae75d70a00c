package aws

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/vigil-dev/vigil/providers"
)

// GetMetadata implements providers.MetadataGetter: a secret's or parameter's tags.
func (c *storeClient) GetMetadata(ctx context.Context, ref providers.Ref) (map[string]string, error) {
	tags := map[string]string{}
	if c.sm != nil {
		out, err := c.sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(c.prefix + ref.Key)})
		if err != nil {
			return nil, c.apiError("DescribeSecret", ref.Key, err)
		}
		for _, t := range out.Tags {
			tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
		return tags, nil
	}
	out, err := c.ssm.ListTagsForResource(ctx,
		&ssm.ListTagsForResourceInput{ResourceType: ssmtypes.ResourceTypeForTaggingParameter,
			ResourceId: aws.String(c.prefix + ref.Key)})
	if err != nil {
		return nil, c.apiError("ListTagsForResource", ref.Key, err)
	}
	for _, t := range out.TagList {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return tags, nil
}
