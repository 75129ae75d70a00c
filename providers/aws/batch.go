package aws

import (
	"context"
	"strings"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/vigil-dev/vigil/providers"
)

// The most ids one batch call takes: BatchGetSecretValue's SecretIdList and GetParameters'
// Names.
const (
	secretsPerBatch    = 20
	parametersPerBatch = 10
)

// batchState remembers that a role may not call BatchGetSecretValue (least-privilege
// roles are often granted GetSecretValue alone): the store then reads one secret per call.
type batchState struct{ denied atomic.Bool }

// BatchLimit implements providers.BatchGetter.
func (c *storeClient) BatchLimit() int {
	if c.sm != nil {
		return secretsPerBatch
	}
	return parametersPerBatch
}

// CanBatch implements providers.BatchGetter: batch calls return the current version only.
func (c *storeClient) CanBatch(ref providers.Ref) bool {
	if c.sm != nil {
		return !c.batch.denied.Load() && (ref.Version == "" || ref.Version == "AWSCURRENT")
	}
	return ref.Version == ""
}

// GetSecrets implements providers.BatchGetter.
func (c *storeClient) GetSecrets(ctx context.Context, refs []providers.Ref) (map[providers.Ref][]byte,
	map[providers.Ref]error, error) {
	if c.sm != nil {
		return c.batchGetSecretValue(ctx, refs)
	}
	return c.getParameters(ctx, refs)
}

func (c *storeClient) batchGetSecretValue(ctx context.Context, refs []providers.Ref) (map[providers.Ref][]byte,
	map[providers.Ref]error, error) {
	byID := make(map[string][]providers.Ref, len(refs))
	ids := make([]string, 0, len(refs))
	for _, ref := range refs {
		id := c.prefix + ref.Key
		if _, ok := byID[id]; !ok {
			ids = append(ids, id)
		}
		byID[id] = append(byID[id], ref)
	}
	out, err := c.sm.BatchGetSecretValue(ctx, &secretsmanager.BatchGetSecretValueInput{SecretIdList: ids})
	if be := providers.AsBackendError(c.apiError("BatchGetSecretValue", "", err)); be != nil && be.Denied {
		c.batch.denied.Store(true)
		return c.oneByOne(ctx, refs)
	}
	if err != nil {
		return nil, nil, c.apiError("BatchGetSecretValue", "", err)
	}
	values := map[providers.Ref][]byte{}
	errs := map[providers.Ref]error{}
	for _, v := range out.SecretValues {
		value := v.SecretBinary
		if v.SecretString != nil {
			value = []byte(*v.SecretString)
		}
		// An id may be the name or the ARN.
		for _, id := range []string{aws.ToString(v.Name), aws.ToString(v.ARN)} {
			for _, ref := range byID[id] {
				values[ref] = value
			}
		}
	}
	erred := map[string]bool{}
	for _, e := range out.Errors {
		erred[aws.ToString(e.SecretId)] = true
		code := aws.ToString(e.ErrorCode)
		for _, ref := range byID[aws.ToString(e.SecretId)] {
			// The entry's code, never its message (the backend's text).
			errs[ref] = c.entryError("BatchGetSecretValue", ref.Key, code)
		}
	}
	// An id answered under another spelling (a partial ARN) is read alone.
	for _, ref := range refs {
		if _, ok := values[ref]; ok {
			continue
		}
		if erred[c.prefix+ref.Key] {
			continue
		}
		c.readOne(ctx, ref, values, errs)
	}
	return values, errs, nil
}

// readOne reads one ref with its own call into values or errs.
func (c *storeClient) readOne(ctx context.Context, ref providers.Ref, values map[providers.Ref][]byte,
	errs map[providers.Ref]error) {
	if v, err := c.GetSecret(ctx, ref); err != nil {
		errs[ref] = err
	} else {
		values[ref] = v
	}
}

// oneByOne reads each ref with its own GetSecretValue call.
func (c *storeClient) oneByOne(ctx context.Context, refs []providers.Ref) (map[providers.Ref][]byte,
	map[providers.Ref]error, error) {
	values := map[providers.Ref][]byte{}
	errs := map[providers.Ref]error{}
	for _, ref := range refs {
		c.readOne(ctx, ref, values, errs)
	}
	return values, errs, nil
}

// getParameters reads up to ten parameters, decrypted; names it does not know come back in
// InvalidParameters and are left out (not found).
func (c *storeClient) getParameters(ctx context.Context, refs []providers.Ref) (map[providers.Ref][]byte,
	map[providers.Ref]error, error) {
	names := make([]string, 0, len(refs))
	byName := make(map[string][]providers.Ref, len(refs))
	for _, ref := range refs {
		name := c.prefix + ref.Key
		if _, ok := byName[name]; !ok {
			names = append(names, name)
		}
		byName[name] = append(byName[name], ref)
	}
	out, err := c.ssm.GetParameters(ctx, &ssm.GetParametersInput{Names: names, WithDecryption: aws.Bool(true)})
	if err != nil {
		return nil, nil, c.apiError("GetParameters", "", err)
	}
	values := map[providers.Ref][]byte{}
	errs := map[providers.Ref]error{}
	for _, p := range out.Parameters {
		for _, ref := range byName[aws.ToString(p.Name)] {
			values[ref] = []byte(aws.ToString(p.Value))
		}
	}
	for _, name := range out.InvalidParameters {
		for _, ref := range byName[name] {
			errs[ref] = c.entryError("GetParameters", ref.Key, "ParameterNotFound")
		}
	}
	// Parameters named by ARN come back by name: read those alone.
	for _, ref := range refs {
		if _, ok := values[ref]; !ok && strings.HasPrefix(ref.Key, "arn:") {
			delete(errs, ref)
			c.readOne(ctx, ref, values, errs)
		}
	}
	return values, errs, nil
}
