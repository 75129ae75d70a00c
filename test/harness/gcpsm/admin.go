package gcpsm

import (
	"maps"
	"slices"

	smpb "cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// What tests set up and look at directly, as an administrator would in the Cloud console.

// Put creates the secret project/id (regional when location is set) with labels if it does
// not exist, and adds one enabled version per value.
func (s *Server) Put(project, location, id string, labels map[string]string, values ...string) {
	s.AddProject(project)
	s.mu.Lock()
	defer s.mu.Unlock()
	r := ref{project: project, location: location, id: id}
	sec := s.secrets[r.key()]
	if sec == nil {
		sec = &secret{pb: &smpb.Secret{Name: s.public(r).secretName(), Labels: maps.Clone(labels),
			CreateTime: timestamppb.Now(), Etag: etag()}}
		if location == "" {
			sec.pb.Replication = &smpb.Replication{Replication: &smpb.Replication_Automatic_{}}
		}
		s.secrets[r.key()] = sec
	}
	for _, v := range values {
		r.version = itoa(len(sec.versions) + 1)
		sec.versions = append(sec.versions, &version{data: []byte(v), pb: &smpb.SecretVersion{
			Name: s.public(r).secretName() + "/versions/" + r.version, CreateTime: timestamppb.Now(),
			State: smpb.SecretVersion_ENABLED, Etag: etag()}})
	}
}

// Annotate sets an annotation of an existing secret.
func (s *Server) Annotate(project, location, id, key, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.secrets[ref{project: project, location: location, id: id}.key()]
	if sec.pb.Annotations == nil {
		sec.pb.Annotations = map[string]string{}
	}
	sec.pb.Annotations[key] = value
}

// SetState disables, enables or destroys version n (from 1) of a secret.
func (s *Server) SetState(project, location, id string, n int, state smpb.SecretVersion_State) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.secrets[ref{project: project, location: location, id: id}.key()].versions[n-1]
	v.pb.State = state
	if state == smpb.SecretVersion_DESTROYED {
		v.data = nil
	}
}

// Secret returns a secret's labels and its versions' values (nil for a destroyed one), and
// whether it exists.
func (s *Server) Secret(project, location, id string) (labels map[string]string, values []string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.secrets[ref{project: project, location: location, id: id}.key()]
	if sec == nil {
		return nil, nil, false
	}
	for _, v := range sec.versions {
		values = append(values, string(v.data))
	}
	return maps.Clone(sec.pb.Labels), slices.Clip(values), true
}

// RevokeTokens forgets every access token handed out: the next call with one is
// Unauthenticated, as after a key is deleted and its tokens expire.
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
}
