package gcpsm

import (
	"context"
	"fmt"
	"hash/crc32"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	smpb "cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// The service's own limits, as documented by Google.
const (
	maxPayloadBytes = 64 << 10
	maxLabels       = 64
)

var (
	secretID   = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,255}$`)
	labelKey   = regexp.MustCompile(`^[\p{Ll}\p{Lo}][\p{Ll}\p{Lo}\p{N}_-]{0,62}$`)
	labelValue = regexp.MustCompile(`^[\p{Ll}\p{Lo}\p{N}_-]{0,63}$`)
	crc32c     = crc32.MakeTable(crc32.Castagnoli)
)

type secret struct {
	pb       *smpb.Secret
	versions []*version // versions[i] is version i+1
}

type version struct {
	pb   *smpb.SecretVersion
	data []byte
}

// ref is a parsed secret (and version) name.
type ref struct {
	project, location, id, version string
}

func (r ref) key() string { return r.project + "|" + r.location + "|" + r.id }

func (r ref) parent() string {
	if r.location != "" {
		return "projects/" + r.project + "/locations/" + r.location
	}
	return "projects/" + r.project
}

func (r ref) secretName() string { return r.parent() + "/secrets/" + r.id }

func invalid(format string, args ...any) error {
	return status.Errorf(codes.InvalidArgument, format, args...)
}

// parseParent reads projects/P or projects/P/locations/L.
func parseParent(name string) (ref, error) {
	parts := strings.Split(name, "/")
	switch {
	case len(parts) == 2 && parts[0] == "projects" && parts[1] != "":
		return ref{project: parts[1]}, nil
	case len(parts) == 4 && parts[0] == "projects" && parts[2] == "locations" && parts[1] != "" && parts[3] != "":
		return ref{project: parts[1], location: parts[3]}, nil
	}
	return ref{}, invalid("Invalid resource field value in the request. parent %q", name)
}

// parseName reads a secret name, and its version when withVersion.
func parseName(name string, withVersion bool) (ref, error) {
	rest := name
	var v string
	if withVersion {
		i := strings.LastIndex(name, "/versions/")
		if i < 0 {
			return ref{}, invalid("Invalid resource field value in the request. name %q", name)
		}
		rest, v = name[:i], name[i+len("/versions/"):]
		if v == "" || strings.Contains(v, "/") {
			return ref{}, invalid("Invalid resource field value in the request. name %q", name)
		}
	}
	i := strings.LastIndex(rest, "/secrets/")
	if i < 0 {
		return ref{}, invalid("Invalid resource field value in the request. name %q", name)
	}
	r, err := parseParent(rest[:i])
	if err != nil {
		return ref{}, err
	}
	r.id, r.version = rest[i+len("/secrets/"):], v
	if !secretID.MatchString(r.id) {
		return ref{}, invalid("Invalid resource field value in the request. secret id %q", r.id)
	}
	return r, nil
}

// resolve checks the caller's permission on r's project and returns r with the project id
// (held under s.mu).
func (s *Server) resolve(ctx context.Context, r ref, permission, resource string) (ref, error) {
	id, err := s.projectID(r.project)
	if err != nil {
		id = r.project
	}
	if err := s.allowed(ctx, permission, resource, id); err != nil {
		return ref{}, err
	}
	r.project = id
	return r, nil
}

// public returns r named as Google names it in answers: by project number.
func (s *Server) public(r ref) ref {
	if n, ok := s.projects[r.project]; ok {
		r.project = n
	}
	return r
}

func (s *Server) lookup(ctx context.Context, name, permission string) (*secret, ref, error) {
	r, err := parseName(name, false)
	if err != nil {
		return nil, r, err
	}
	if r, err = s.resolve(ctx, r, permission, name); err != nil {
		return nil, r, err
	}
	sec := s.secrets[r.key()]
	if sec == nil {
		return nil, r, status.Errorf(codes.NotFound, "Secret [%s] not found or has no versions.", s.public(r).secretName())
	}
	return sec, r, nil
}

func checkLabels(labels map[string]string) error {
	if len(labels) > maxLabels {
		return invalid("A secret may have at most %d labels.", maxLabels)
	}
	for k, v := range labels {
		if !labelKey.MatchString(k) || !labelValue.MatchString(v) {
			return invalid("Invalid label %q: keys and values must be lowercase letters, digits, _ or -.", k)
		}
	}
	return nil
}

func etag() string { return fmt.Sprintf("%q", strconv.FormatInt(time.Now().UnixNano(), 36)) }

// CreateSecret implements the service.
func (s *Server) CreateSecret(ctx context.Context, req *smpb.CreateSecretRequest) (*smpb.Secret, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := parseParent(req.GetParent())
	if err != nil {
		return nil, err
	}
	if r, err = s.resolve(ctx, r, "secretmanager.secrets.create", req.GetParent()); err != nil {
		return nil, err
	}
	if !secretID.MatchString(req.GetSecretId()) {
		return nil, invalid("Invalid secret id %q: 1 to 255 letters, digits, _ or -.", req.GetSecretId())
	}
	r.id = req.GetSecretId()
	in := req.GetSecret()
	switch {
	case r.location == "" && in.GetReplication() == nil:
		return nil, invalid("Secret.replication is required.")
	case r.location != "" && in.GetReplication() != nil:
		return nil, invalid("Secret.replication must not be set for a regional secret.")
	}
	if err := checkLabels(in.GetLabels()); err != nil {
		return nil, err
	}
	if s.secrets[r.key()] != nil {
		return nil, status.Errorf(codes.AlreadyExists, "Secret [%s] already exists.", s.public(r).secretName())
	}
	pb := proto.Clone(in).(*smpb.Secret)
	pb.Name, pb.CreateTime, pb.Etag = s.public(r).secretName(), timestamppb.Now(), etag()
	s.secrets[r.key()] = &secret{pb: pb}
	return proto.Clone(pb).(*smpb.Secret), nil
}

// GetSecret implements the service.
func (s *Server) GetSecret(ctx context.Context, req *smpb.GetSecretRequest) (*smpb.Secret, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, _, err := s.lookup(ctx, req.GetName(), "secretmanager.secrets.get")
	if err != nil {
		return nil, err
	}
	return proto.Clone(sec.pb).(*smpb.Secret), nil
}

// UpdateSecret implements the service for labels and annotations.
func (s *Server) UpdateSecret(ctx context.Context, req *smpb.UpdateSecretRequest) (*smpb.Secret, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, _, err := s.lookup(ctx, req.GetSecret().GetName(), "secretmanager.secrets.update")
	if err != nil {
		return nil, err
	}
	if e := req.GetSecret().GetEtag(); e != "" && e != sec.pb.Etag {
		return nil, status.Error(codes.Aborted, "The etag does not match the current etag of the secret.")
	}
	for _, p := range req.GetUpdateMask().GetPaths() {
		switch p {
		case "labels":
			if err := checkLabels(req.GetSecret().GetLabels()); err != nil {
				return nil, err
			}
			sec.pb.Labels = maps.Clone(req.GetSecret().GetLabels())
		case "annotations":
			sec.pb.Annotations = maps.Clone(req.GetSecret().GetAnnotations())
		default:
			return nil, invalid("Unsupported update mask path %q.", p)
		}
	}
	sec.pb.Etag = etag()
	return proto.Clone(sec.pb).(*smpb.Secret), nil
}

// DeleteSecret implements the service.
func (s *Server) DeleteSecret(ctx context.Context, req *smpb.DeleteSecretRequest) (*emptypb.Empty, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, r, err := s.lookup(ctx, req.GetName(), "secretmanager.secrets.delete")
	if err != nil {
		return nil, err
	}
	if req.GetEtag() != "" && req.GetEtag() != sec.pb.Etag {
		return nil, status.Error(codes.Aborted, "The etag does not match the current etag of the secret.")
	}
	delete(s.secrets, r.key())
	return &emptypb.Empty{}, nil
}

// ListSecrets implements the service, with the filter terms of Google's filtering syntax
// that select by name and labels (docs: cloud.google.com/secret-manager/docs/filtering).
func (s *Server) ListSecrets(ctx context.Context, req *smpb.ListSecretsRequest) (*smpb.ListSecretsResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := parseParent(req.GetParent())
	if err != nil {
		return nil, err
	}
	if r, err = s.resolve(ctx, r, "secretmanager.secrets.list", req.GetParent()); err != nil {
		return nil, err
	}
	match, err := parseFilter(req.GetFilter())
	if err != nil {
		return nil, err
	}
	var all []*smpb.Secret
	for _, k := range slices.Sorted(maps.Keys(s.secrets)) {
		sec := s.secrets[k]
		if strings.HasPrefix(k, r.project+"|"+r.location+"|") && match(sec.pb) {
			all = append(all, sec.pb)
		}
	}
	return page(all, req.GetPageSize(), req.GetPageToken(), func(items []*smpb.Secret, next string,
	) *smpb.ListSecretsResponse {
		out := &smpb.ListSecretsResponse{NextPageToken: next, TotalSize: int32(len(all))}
		for _, it := range items {
			out.Secrets = append(out.Secrets, proto.Clone(it).(*smpb.Secret))
		}
		return out
	})
}

// pageSize is the harness's default page, small so that clients' paging is exercised.
const pageSize = 10

func page[T any, R any](all []T, size int32, token string, build func([]T, string) R) (R, error) {
	var zero R
	if size <= 0 {
		size = pageSize
	}
	start := 0
	if token != "" {
		n, err := strconv.Atoi(token)
		if err != nil || n < 0 || n > len(all) {
			return zero, invalid("Invalid page token.")
		}
		start = n
	}
	end := min(start+int(size), len(all))
	next := ""
	if end < len(all) {
		next = strconv.Itoa(end)
	}
	return build(all[start:end], next), nil
}

// AddSecretVersion implements the service.
func (s *Server) AddSecretVersion(ctx context.Context, req *smpb.AddSecretVersionRequest) (*smpb.SecretVersion, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, r, err := s.lookup(ctx, req.GetParent(), "secretmanager.versions.add")
	if err != nil {
		return nil, err
	}
	data := req.GetPayload().GetData()
	if len(data) > maxPayloadBytes {
		return nil, invalid("Secret payload data must be at most %d bytes.", maxPayloadBytes)
	}
	if c := req.GetPayload().DataCrc32C; c != nil && uint32(*c) != crc32.Checksum(data, crc32c) {
		return nil, invalid("Checksum mismatch: the payload's data_crc32c does not match its data.")
	}
	r.version = strconv.Itoa(len(sec.versions) + 1)
	pb := &smpb.SecretVersion{
		Name: s.public(r).secretName() + "/versions/" + r.version, CreateTime: timestamppb.Now(),
		State: smpb.SecretVersion_ENABLED, Etag: etag(), ClientSpecifiedPayloadChecksum: req.GetPayload().DataCrc32C != nil,
	}
	sec.versions = append(sec.versions, &version{pb: pb, data: slices.Clone(data)})
	return proto.Clone(pb).(*smpb.SecretVersion), nil
}

// findVersion resolves a version name, "latest" being the most recently created version
// whatever its state (held under s.mu).
func (s *Server) findVersion(ctx context.Context, name, permission string) (*version, error) {
	r, err := parseName(name, true)
	if err != nil {
		return nil, err
	}
	if r, err = s.resolve(ctx, r, permission, name); err != nil {
		return nil, err
	}
	sec := s.secrets[r.key()]
	notFound := status.Errorf(codes.NotFound, "Secret Version [%s/versions/%s] not found.",
		s.public(r).secretName(), r.version)
	if sec == nil {
		return nil, notFound
	}
	n := len(sec.versions)
	if r.version != "latest" {
		if n, err = strconv.Atoi(r.version); err != nil {
			return nil, invalid("Invalid version %q: a number or latest.", r.version)
		}
	}
	if n < 1 || n > len(sec.versions) {
		return nil, notFound
	}
	return sec.versions[n-1], nil
}

// AccessSecretVersion implements the service: a version that is not enabled cannot be
// read (FailedPrecondition).
func (s *Server) AccessSecretVersion(ctx context.Context, req *smpb.AccessSecretVersionRequest) (
	*smpb.AccessSecretVersionResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.findVersion(ctx, req.GetName(), "secretmanager.versions.access")
	if err != nil {
		return nil, err
	}
	if v.pb.State != smpb.SecretVersion_ENABLED {
		return nil, status.Errorf(codes.FailedPrecondition, "Secret Version [%s] is in %s state.", v.pb.Name, v.pb.State)
	}
	sum := int64(crc32.Checksum(v.data, crc32c))
	return &smpb.AccessSecretVersionResponse{Name: v.pb.Name,
		Payload: &smpb.SecretPayload{Data: slices.Clone(v.data), DataCrc32C: &sum}}, nil
}

// GetSecretVersion implements the service.
func (s *Server) GetSecretVersion(ctx context.Context, req *smpb.GetSecretVersionRequest) (*smpb.SecretVersion, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.findVersion(ctx, req.GetName(), "secretmanager.versions.get")
	if err != nil {
		return nil, err
	}
	return proto.Clone(v.pb).(*smpb.SecretVersion), nil
}

// ListSecretVersions implements the service, newest first, with the filter state:<STATE>.
func (s *Server) ListSecretVersions(ctx context.Context, req *smpb.ListSecretVersionsRequest) (
	*smpb.ListSecretVersionsResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, _, err := s.lookup(ctx, req.GetParent(), "secretmanager.versions.list")
	if err != nil {
		return nil, err
	}
	want, ok := strings.CutPrefix(req.GetFilter(), "state:")
	if req.GetFilter() != "" && (!ok || smpb.SecretVersion_State_value[want] == 0) {
		return nil, invalid("Unsupported filter %q.", req.GetFilter())
	}
	var all []*smpb.SecretVersion
	for _, v := range slices.Backward(sec.versions) {
		if want == "" || v.pb.State.String() == want {
			all = append(all, v.pb)
		}
	}
	return page(all, req.GetPageSize(), req.GetPageToken(),
		func(items []*smpb.SecretVersion, next string) *smpb.ListSecretVersionsResponse {
			out := &smpb.ListSecretVersionsResponse{NextPageToken: next, TotalSize: int32(len(all))}
			for _, it := range items {
				out.Versions = append(out.Versions, proto.Clone(it).(*smpb.SecretVersion))
			}
			return out
		})
}

func (s *Server) setState(ctx context.Context, name string, state smpb.SecretVersion_State) (
	*smpb.SecretVersion, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.findVersion(ctx, name, "secretmanager.versions."+strings.ToLower(state.String()))
	if err != nil {
		return nil, err
	}
	if v.pb.State == smpb.SecretVersion_DESTROYED {
		return nil, status.Errorf(codes.FailedPrecondition, "Secret Version [%s] is in DESTROYED state.", v.pb.Name)
	}
	v.pb.State = state
	if state == smpb.SecretVersion_DESTROYED {
		v.data, v.pb.DestroyTime = nil, timestamppb.Now()
	}
	return proto.Clone(v.pb).(*smpb.SecretVersion), nil
}

// DisableSecretVersion implements the service.
func (s *Server) DisableSecretVersion(ctx context.Context, req *smpb.DisableSecretVersionRequest) (
	*smpb.SecretVersion, error) {
	return s.setState(ctx, req.GetName(), smpb.SecretVersion_DISABLED)
}

// EnableSecretVersion implements the service.
func (s *Server) EnableSecretVersion(ctx context.Context, req *smpb.EnableSecretVersionRequest) (
	*smpb.SecretVersion, error) {
	return s.setState(ctx, req.GetName(), smpb.SecretVersion_ENABLED)
}

// DestroySecretVersion implements the service.
func (s *Server) DestroySecretVersion(ctx context.Context, req *smpb.DestroySecretVersionRequest) (
	*smpb.SecretVersion, error) {
	return s.setState(ctx, req.GetName(), smpb.SecretVersion_DESTROYED)
}
