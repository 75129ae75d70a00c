package azure

import (
	"encoding/json"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/vigil-dev/vigil/providers"
)

// authFailed is the code of a refused token request whose answer names no error.
const authFailed = "authentication failed"

// Permissions, as Key Vault's data actions name them.
const (
	permGet    = "get"
	permSet    = "set"
	permDelete = "delete"
	permList   = "list"
	permImport = "import"
	permUpdate = "update"
)

// opName is Key Vault's operation name for a permission on an object type (ESO's metric call
// names): GetSecret, SetSecret, DeleteSecret, GetSecrets, GetKey, GetCertificate, …
func opName(objType, permission string) string {
	noun := map[string]string{typeSecret: "Secret", typeKey: "Key", typeCert: "Certificate"}[objType]
	switch permission {
	case permGet:
		return "Get" + noun
	case permSet:
		return "Set" + noun
	case permDelete:
		return "Delete" + noun
	case permList:
		return "Get" + noun + "s"
	case permImport:
		return "Import" + noun
	case permUpdate:
		return "Update" + noun
	case "recover":
		return "RecoverDeleted" + noun
	}
	return "GetToken"
}

// kindOf is the data action namespace of an object type.
func kindOf(objType string) string {
	switch objType {
	case typeKey:
		return "keys"
	case typeCert:
		return "certificates"
	}
	return "secrets"
}

// roleOf names the built-in Key Vault role that grants a permission on an object type.
func roleOf(objType, permission string) string {
	switch {
	case objType == typeKey && permission == permGet:
		return "Crypto User"
	case objType == typeKey:
		return "Crypto Officer"
	case objType == typeCert && permission == permGet:
		return "Certificate User"
	case objType == typeCert:
		return "Certificates Officer"
	case permission == permGet || permission == permList:
		return "Secrets User"
	}
	return "Secrets Officer"
}

// entraCode is the OAuth error code of a refused token request ("invalid_client",
// "unauthorized_client") with its AADSTS number, never its description text.
func entraCode(resp *http.Response) string {
	if resp == nil {
		return authFailed
	}
	body, err := runtime.Payload(resp)
	if err != nil {
		return authFailed
	}
	var e struct {
		Error      string `json:"error"`
		ErrorCodes []int  `json:"error_codes"`
	}
	if json.Unmarshal(body, &e) != nil || e.Error == "" {
		return authFailed
	}
	code := providers.Truncate(e.Error, 40)
	if len(e.ErrorCodes) > 0 {
		code += " (AADSTS" + itoa(e.ErrorCodes[0]) + ")"
	}
	return code
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// innerCode is the innererror code of a Key Vault error ("SecretDisabled",
// "ObjectIsDeletedButRecoverable", "ForbiddenByRbac"), or "".
func innerCode(resp *http.Response) string {
	if resp == nil {
		return ""
	}
	body, err := runtime.Payload(resp)
	if err != nil {
		return ""
	}
	var e struct {
		Error struct {
			InnerError struct {
				Code string `json:"code"`
			} `json:"innererror"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	return providers.Truncate(e.Error.InnerError.Code, 64)
}
