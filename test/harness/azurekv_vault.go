package harness

import (
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// azVault holds one vault's objects by kind ("secrets", "keys", "certificates") and name.
type azVault struct {
	objects map[string]map[string]*azObject
	deleted map[string]map[string]*azObject
}

// azObject is one named object; its last version is the current one.
type azObject struct{ versions []*azVersion }

type azVersion struct {
	id          string
	value       string
	contentType string
	tags        map[string]string
	enabled     bool
	created     int64
	expires     int64          // attributes.exp, 0 when none
	key         map[string]any // keys: the public JWK
	cer         []byte         // certificates: DER
	managed     bool           // the secret or key behind a certificate
}

func newAzVault() *azVault {
	v := &azVault{objects: map[string]map[string]*azObject{}, deleted: map[string]map[string]*azObject{}}
	for _, k := range []string{kindSecrets, kindKeys, kindCerts} {
		v.objects[k], v.deleted[k] = map[string]*azObject{}, map[string]*azObject{}
	}
	return v
}

// vault returns the vault of a host name's first label, creating it (the lock is held).
func (a *AzureKV) vault(name string) *azVault {
	name = strings.ToLower(name)
	v, ok := a.vaults[name]
	if !ok {
		v = newAzVault()
		a.vaults[name] = v
	}
	return v
}

// Object kinds as the API's paths name them, and the error object's field.
const (
	kindSecrets = "secrets"
	kindKeys    = "keys"
	kindCerts   = "certificates"
	errorField  = "error"
	// pemCertificate is the PEM block type of a certificate.
	pemCertificate = "CERTIFICATE"
)

var (
	azObjectName = regexp.MustCompile(`^[0-9a-zA-Z-]{1,127}$`)
	// notFoundCode is Key Vault's error code for a missing object of each kind.
	notFoundCode = map[string]string{kindSecrets: "SecretNotFound", kindKeys: "KeyNotFound",
		kindCerts: "CertificateNotFound"}
	singular = map[string]string{kindSecrets: "secret", kindKeys: "key", kindCerts: "certificate"}
)

// kvError answers as Key Vault does.
func kvError(w http.ResponseWriter, status int, code, inner, msg string) {
	e := map[string]any{"code": code, "message": msg}
	if inner != "" {
		e["innererror"] = map[string]any{"code": inner}
	}
	writeJSON(w, status, map[string]any{errorField: e})
}

// serveVault checks the api-version and the bearer token (401 with the challenge), then
// routes a Key Vault request.
func (a *AzureKV) serveVault(w http.ResponseWriter, r *http.Request, vault string) {
	client := a.bearer(r)
	if client == "" {
		a.record(r, "", http.StatusUnauthorized)
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer authorization="%s/%s", resource="%s"`,
			azureAuthority, AzureTenant, azureVaultAudience))
		kvError(w, http.StatusUnauthorized, "Unauthorized", "", "AKV10000: Request is missing a Bearer or PoP token.")
		return
	}
	if r.URL.Query().Get("api-version") == "" {
		a.record(r, client, http.StatusBadRequest)
		kvError(w, http.StatusBadRequest, "BadParameter", "", "The request URI contains an invalid or missing api-version")
		return
	}
	a.mu.Lock()
	denied := a.apps[client].denied[strings.ToLower(vault)]
	a.mu.Unlock()
	if denied {
		a.record(r, client, http.StatusForbidden)
		kvError(w, http.StatusForbidden, "Forbidden", "ForbiddenByRbac",
			"Caller is not authorized to perform action on resource.")
		return
	}
	rw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	a.routeVault(rw, r, vault)
	a.record(r, client, rw.status)
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (a *AzureKV) routeVault(w http.ResponseWriter, r *http.Request, vault string) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	kind := parts[0]
	if _, ok := notFoundCode[strings.TrimPrefix(kind, "deleted")]; !ok {
		kvError(w, http.StatusNotFound, "NotFound", "", "unknown path")
		return
	}
	if len(parts) == 1 {
		a.list(w, r, vault, kind, "")
		return
	}
	name := parts[1]
	if !azObjectName.MatchString(name) {
		kvError(w, http.StatusBadRequest, "BadParameter", "",
			fmt.Sprintf("The request URI contains an invalid name: %s", name))
		return
	}
	if strings.HasPrefix(kind, "deleted") {
		a.serveDeleted(w, r, vault, strings.TrimPrefix(kind, "deleted"), name, parts[2:])
		return
	}
	version := ""
	if len(parts) > 2 {
		version = parts[2]
	}
	switch {
	case r.Method == http.MethodGet && version == "versions":
		a.list(w, r, vault, kind, name)
	case r.Method == http.MethodGet:
		a.get(w, vault, kind, name, version)
	case r.Method == http.MethodDelete && version == "":
		a.remove(w, vault, kind, name)
	case r.Method == http.MethodPut && kind != kindCerts && version == "",
		r.Method == http.MethodPost && kind == kindCerts && version == "import":
		a.set(w, r, vault, kind, name)
	case r.Method == http.MethodPatch && kind != kindCerts:
		a.update(w, r, vault, kind, name, version)
	default:
		kvError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "", "method not allowed")
	}
}

// get answers the bundle of a version ("" the current one).
func (a *AzureKV) get(w http.ResponseWriter, vault, kind, name, version string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	o := a.vault(vault).objects[kind][strings.ToLower(name)]
	var v *azVersion
	if o != nil {
		v = o.versions[len(o.versions)-1]
		if version != "" {
			v = nil
			for _, c := range o.versions {
				if c.id == version {
					v = c
				}
			}
		}
	}
	if v == nil {
		kvError(w, http.StatusNotFound, notFoundCode[kind], "", fmt.Sprintf(
			"A %s with (name/id) %s was not found in this key vault. If you recently deleted this %s you may be able "+
				"to recover it using the correct recovery command.", singular[kind], name, singular[kind]))
		return
	}
	if !v.enabled && kind != kindCerts {
		kvError(w, http.StatusForbidden, "Forbidden", strings.ToUpper(singular[kind][:1])+singular[kind][1:]+"Disabled",
			fmt.Sprintf("Operation get is not allowed on a disabled %s.", singular[kind]))
		return
	}
	writeJSON(w, http.StatusOK, bundle(vault, kind, name, v, true))
}

// bundle is the JSON of a version: a bundle (with its value) or a list item.
func bundle(vault, kind, name string, v *azVersion, full bool) map[string]any {
	base := VaultURL(vault) + "/" + kind + "/" + name
	attrs := map[string]any{"enabled": v.enabled, "created": v.created, "updated": v.created,
		"recoveryLevel": "Recoverable+Purgeable", "recoverableDays": 90}
	if v.expires != 0 {
		attrs["exp"] = v.expires
	}
	out := map[string]any{"attributes": attrs, "tags": v.tags}
	switch kind {
	case kindSecrets:
		out["id"] = base + "/" + v.id
		if v.contentType != "" {
			out["contentType"] = v.contentType
		}
		if v.managed {
			out["managed"] = true
		}
		if full {
			out["value"] = v.value
		}
	case kindKeys:
		out["key"] = maps.Clone(v.key)
		out["key"].(map[string]any)["kid"] = base + "/" + v.id
		if !full {
			out = map[string]any{"kid": base + "/" + v.id, "attributes": attrs, "tags": v.tags}
		}
	case kindCerts:
		out["id"] = base + "/" + v.id
		out["x5t"] = base64.RawURLEncoding.EncodeToString([]byte(v.id[:20]))
		if full {
			out["cer"] = v.cer
			out["kid"] = VaultURL(vault) + "/keys/" + name + "/" + v.id
			out["sid"] = VaultURL(vault) + "/secrets/" + name + "/" + v.id
		}
	}
	return out
}

// list answers a page of a kind's objects, or of one object's versions: at most 25 a page
// (maxresults), further pages through nextLink, as Key Vault pages.
func (a *AzureKV) list(w http.ResponseWriter, r *http.Request, vault, kind, name string) {
	a.mu.Lock()
	var items []map[string]any
	objs := a.vault(vault).objects[kind]
	if name != "" {
		if o := objs[strings.ToLower(name)]; o != nil {
			for _, v := range o.versions {
				items = append(items, bundle(vault, kind, name, v, false))
			}
		}
	} else {
		for _, n := range slices.Sorted(maps.Keys(objs)) {
			o := objs[n]
			items = append(items, bundle(vault, kind, n, o.versions[len(o.versions)-1], false))
		}
	}
	a.mu.Unlock()
	size := 25
	if m, err := strconv.Atoi(r.URL.Query().Get("maxresults")); err == nil && m > 0 && m < size {
		size = m
	}
	skip, _ := strconv.Atoi(r.URL.Query().Get("$skiptoken"))
	skip = min(max(skip, 0), len(items))
	end := min(skip+size, len(items))
	out := map[string]any{"value": items[skip:end]}
	if end < len(items) {
		q := r.URL.Query()
		q.Set("$skiptoken", strconv.Itoa(end))
		out["nextLink"] = VaultURL(vault) + r.URL.Path + "?" + q.Encode()
	} else {
		out["nextLink"] = nil
	}
	writeJSON(w, http.StatusOK, out)
}

// azSetBody is the body of a secret set, a key import or a certificate import.
type azSetBody struct {
	Value       string            `json:"value"`
	ContentType string            `json:"contentType"`
	Tags        map[string]string `json:"tags"`
	Key         map[string]any    `json:"key"`
	Attributes  *struct {
		Enabled *bool  `json:"enabled"`
		Exp     *int64 `json:"exp"`
	} `json:"attributes"`
}

// set adds a version: a secret set, a key import, a certificate import. A name in the
// deleted state cannot be reused (409 ObjectIsDeletedButRecoverable).
func (a *AzureKV) set(w http.ResponseWriter, r *http.Request, vault, kind, name string) {
	var body azSetBody
	data, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil || json.Unmarshal(data, &body) != nil {
		kvError(w, http.StatusBadRequest, "BadParameter", "", "The request body is not valid JSON.")
		return
	}
	v := &azVersion{id: newID(), value: body.Value, contentType: body.ContentType, tags: body.Tags, enabled: true,
		created: time.Now().Unix()}
	if body.Attributes != nil && body.Attributes.Enabled != nil {
		v.enabled = *body.Attributes.Enabled
	}
	if body.Attributes != nil && body.Attributes.Exp != nil {
		v.expires = *body.Attributes.Exp
	}
	switch kind {
	case kindKeys:
		if body.Key == nil {
			kvError(w, http.StatusBadRequest, "BadParameter", "", "Property key is required.")
			return
		}
		v.key = publicJWK(body.Key)
	case kindCerts:
		if v.cer = certificateDER(body.Value); v.cer == nil {
			kvError(w, http.StatusBadRequest, "BadParameter", "", "The specified PEM X.509 certificate content is invalid.")
			return
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	vt := a.vault(vault)
	if vt.deleted[kind][strings.ToLower(name)] != nil {
		kvError(w, http.StatusConflict, "Conflict", "ObjectIsDeletedButRecoverable", fmt.Sprintf(
			"%s %s is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the "+
				"%s can only be recovered or purged.", strings.ToUpper(singular[kind][:1])+singular[kind][1:], name,
			singular[kind]))
		return
	}
	a.addVersion(vt, kind, name, v)
	if kind == kindCerts {
		// A certificate's secret holds its PEM, as Key Vault keeps it addressable.
		a.addVersion(vt, kindSecrets, name, &azVersion{id: v.id, value: body.Value, contentType: "application/x-pem-file",
			tags: v.tags, enabled: true, created: v.created, managed: true})
	}
	writeJSON(w, http.StatusOK, bundle(vault, kind, name, v, true))
}

// update changes a secret's or key's version's properties (PATCH, Key Vault's UpdateSecret
// and UpdateKey): the contentType, tags and expiry the body names; the value and the
// versions stay.
func (a *AzureKV) update(w http.ResponseWriter, r *http.Request, vault, kind, name, version string) {
	var body azSetBody
	data, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil || json.Unmarshal(data, &body) != nil {
		kvError(w, http.StatusBadRequest, "BadParameter", "", "The request body is not valid JSON.")
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	var v *azVersion
	if o := a.vault(vault).objects[kind][strings.ToLower(name)]; o != nil {
		for _, c := range o.versions {
			if c.id == version || version == "" && c == o.versions[len(o.versions)-1] {
				v = c
			}
		}
	}
	if v == nil {
		kvError(w, http.StatusNotFound, notFoundCode[kind], "", fmt.Sprintf(
			"A %s with (name/id) %s/%s was not found in this key vault.", singular[kind], name, version))
		return
	}
	if body.ContentType != "" {
		v.contentType = body.ContentType
	}
	if body.Tags != nil {
		v.tags = body.Tags
	}
	if body.Attributes != nil && body.Attributes.Exp != nil {
		v.expires = *body.Attributes.Exp
	}
	if body.Attributes != nil && body.Attributes.Enabled != nil {
		v.enabled = *body.Attributes.Enabled
	}
	writeJSON(w, http.StatusOK, bundle(vault, kind, name, v, false))
}

func (a *AzureKV) addVersion(vt *azVault, kind, name string, v *azVersion) {
	o := vt.objects[kind][strings.ToLower(name)]
	if o == nil {
		o = &azObject{}
		vt.objects[kind][strings.ToLower(name)] = o
	}
	o.versions = append(o.versions, v)
}

// publicJWK drops a JWK's private parts: Key Vault never returns them.
func publicJWK(k map[string]any) map[string]any {
	out := maps.Clone(k)
	for _, p := range []string{"d", "p", "q", "dp", "dq", "qi", "k", "t"} {
		delete(out, p)
	}
	return out
}

// certificateDER returns the first certificate of an imported value (PEM, or base64 DER).
func certificateDER(value string) []byte {
	rest := []byte(value)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type == pemCertificate {
			return b.Bytes
		}
	}
	if der, err := base64.StdEncoding.DecodeString(value); err == nil && len(der) > 0 {
		return der
	}
	return nil
}

// remove soft-deletes an object (with every version).
func (a *AzureKV) remove(w http.ResponseWriter, vault, kind, name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	vt := a.vault(vault)
	o := vt.objects[kind][strings.ToLower(name)]
	if o == nil {
		kvError(w, http.StatusNotFound, notFoundCode[kind], "", fmt.Sprintf(
			"A %s with (name/id) %s was not found in this key vault.", singular[kind], name))
		return
	}
	delete(vt.objects[kind], strings.ToLower(name))
	vt.deleted[kind][strings.ToLower(name)] = o
	out := bundle(vault, kind, name, o.versions[len(o.versions)-1], false)
	out["recoveryId"] = VaultURL(vault) + "/deleted" + kind + "/" + name
	out["deletedDate"] = time.Now().Unix()
	out["scheduledPurgeDate"] = time.Now().Add(90 * 24 * time.Hour).Unix()
	writeJSON(w, http.StatusOK, out)
}

// serveDeleted serves deleted objects: GET, recover (POST …/recover) and purge (DELETE).
func (a *AzureKV) serveDeleted(w http.ResponseWriter, r *http.Request, vault, kind, name string, rest []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	vt := a.vault(vault)
	o := vt.deleted[kind][strings.ToLower(name)]
	if o == nil {
		kvError(w, http.StatusNotFound, notFoundCode[kind], "", fmt.Sprintf(
			"A deleted %s with (name/id) %s was not found in this key vault.", singular[kind], name))
		return
	}
	switch {
	case r.Method == http.MethodGet && len(rest) == 0:
		out := bundle(vault, kind, name, o.versions[len(o.versions)-1], false)
		out["recoveryId"] = VaultURL(vault) + "/deleted" + kind + "/" + name
		writeJSON(w, http.StatusOK, out)
	case r.Method == http.MethodPost && len(rest) == 1 && rest[0] == "recover":
		delete(vt.deleted[kind], strings.ToLower(name))
		vt.objects[kind][strings.ToLower(name)] = o
		writeJSON(w, http.StatusOK, bundle(vault, kind, name, o.versions[len(o.versions)-1], false))
	case r.Method == http.MethodDelete && len(rest) == 0:
		delete(vt.deleted[kind], strings.ToLower(name))
		w.WriteHeader(http.StatusNoContent)
	default:
		kvError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "", "method not allowed")
	}
}

// AzureObject is what a test reads of an object directly.
type AzureObject struct {
	Value       string
	ContentType string
	Tags        map[string]string
	Versions    int
	Enabled     bool
	Deleted     bool
	Expires     int64          // attributes.exp (Unix seconds), 0 when none
	Key         map[string]any // keys: the public JWK
}

// Object returns an object's current version, or ok false when it does not exist (Deleted
// when it is soft-deleted).
func (a *AzureKV) Object(vault, kind, name string) (AzureObject, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	vt := a.vault(vault)
	o, deleted := vt.objects[kind][strings.ToLower(name)], false
	if o == nil {
		o, deleted = vt.deleted[kind][strings.ToLower(name)], true
	}
	if o == nil {
		return AzureObject{}, false
	}
	v := o.versions[len(o.versions)-1]
	return AzureObject{Value: v.value, ContentType: v.contentType, Tags: maps.Clone(v.tags), Versions: len(o.versions),
		Enabled: v.enabled, Deleted: deleted, Expires: v.expires, Key: maps.Clone(v.key)}, true
}

// SetSecret adds a version of a secret directly (test setup) and returns its version id.
func (a *AzureKV) SetSecret(vault, name, value string, tags map[string]string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	v := &azVersion{id: newID(), value: value, tags: maps.Clone(tags), enabled: true, created: time.Now().Unix()}
	a.addVersion(a.vault(vault), kindSecrets, name, v)
	return v.id
}

// DisableSecret disables a secret's current version (enabled false).
func (a *AzureKV) DisableSecret(vault, name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if o := a.vault(vault).objects[kindSecrets][strings.ToLower(name)]; o != nil {
		o.versions[len(o.versions)-1].enabled = false
	}
}

// ImportKey adds a version of a key directly from a JWK (private parts are dropped).
func (a *AzureKV) ImportKey(vault, name string, jwk map[string]any, tags map[string]string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	v := &azVersion{id: newID(), key: publicJWK(jwk), tags: maps.Clone(tags), enabled: true, created: time.Now().Unix()}
	a.addVersion(a.vault(vault), kindKeys, name, v)
	return v.id
}

// ImportCertificate adds a version of a certificate directly from its DER, with the secret
// of the same name that Key Vault keeps for it (managed, its PEM).
func (a *AzureKV) ImportCertificate(vault, name string, der []byte, tags map[string]string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	v := &azVersion{id: newID(), cer: der, tags: maps.Clone(tags), enabled: true, created: time.Now().Unix()}
	a.addVersion(a.vault(vault), kindCerts, name, v)
	a.addVersion(a.vault(vault), kindSecrets, name, &azVersion{id: v.id, enabled: true, created: v.created,
		value:       string(pem.EncodeToMemory(&pem.Block{Type: pemCertificate, Bytes: der})),
		contentType: "application/x-pem-file", tags: maps.Clone(tags), managed: true})
	return v.id
}
