package render

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"

	"software.sslmate.com/src/go-pkcs12"
)

// The PKCS#12 helpers of ESO's template engine v2, on software.sslmate.com/src/go-pkcs12.
// Inputs named archive are the binary PKCS#12 data (fetch it with decodingStrategy Base64
// when the backend stores it base64-encoded); pemToPkcs12 and fullPemToPkcs12 return the
// archive base64-encoded, as in ESO. Errors never quote their input.

func pkcs12key(archive string) (string, error) { return pkcs12keyPass("", archive) }

func pkcs12keyPass(password, archive string) (string, error) {
	if err := checkPKCS12Cost([]byte(archive)); err != nil {
		return "", err
	}
	key, _, _, err := pkcs12.DecodeChain([]byte(archive), password)
	if err != nil {
		return "", fmt.Errorf("pkcs12key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", fmt.Errorf("pkcs12key: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), nil
}

func pkcs12cert(archive string) (string, error) { return pkcs12certPass("", archive) }

// pkcs12certPass returns the certificate followed by the CA certificates, as PEM.
func pkcs12certPass(password, archive string) (string, error) {
	if err := checkPKCS12Cost([]byte(archive)); err != nil {
		return "", err
	}
	_, cert, cas, err := pkcs12.DecodeChain([]byte(archive), password)
	if err != nil {
		return "", fmt.Errorf("pkcs12cert: %w", err)
	}
	var out bytes.Buffer
	for _, c := range append([]*x509.Certificate{cert}, cas...) {
		if err := pem.Encode(&out, &pem.Block{Type: pemCertificate, Bytes: c.Raw}); err != nil {
			return "", err
		}
	}
	return out.String(), nil
}

func pemToPkcs12(cert, key string) (string, error) { return pemToPkcs12Pass(cert, key, "") }

// pemToPkcs12Pass packs the first certificate of certPEM and the key into an archive.
func pemToPkcs12Pass(certPEM, keyPEM, password string) (string, error) {
	return encodePkcs12("pemToPkcs12", certPEM, keyPEM, password, false)
}

func fullPemToPkcs12(cert, key string) (string, error) { return fullPemToPkcs12Pass(cert, key, "") }

// fullPemToPkcs12Pass packs the certificate, the rest of the chain as CA certificates, and
// the key.
func fullPemToPkcs12Pass(certPEM, keyPEM, password string) (string, error) {
	return encodePkcs12("fullPemToPkcs12", certPEM, keyPEM, password, true)
}

func encodePkcs12(fn, certPEM, keyPEM, password string, chain bool) (string, error) {
	certs, err := parseCerts(certPEM)
	if err != nil {
		return "", fmt.Errorf("%s: %w", fn, err)
	}
	block, _ := pem.Decode([]byte(keyPEM))
	if block == nil {
		return "", fmt.Errorf("%s: the key is not PEM", fn)
	}
	key, err := parseKey(block.Bytes)
	if err != nil {
		return "", fmt.Errorf("%s: %w", fn, err)
	}
	var cas []*x509.Certificate
	if chain {
		cas = certs[1:]
	}
	pfx, err := pkcs12.Modern.Encode(key, certs[0], cas, password)
	if err != nil {
		return "", fmt.Errorf("%s: %w", fn, err)
	}
	return base64.StdEncoding.EncodeToString(pfx), nil
}

func parseCerts(in string) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	rest := []byte(in)
	for {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			break
		}
		if block.Type != pemCertificate {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("no CERTIFICATE block in the input")
	}
	return certs, nil
}

// parseKey accepts PKCS#8, PKCS#1 (RSA) and SEC 1 (EC) keys.
func parseKey(der []byte) (any, error) {
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return k, nil
	}
	return nil, errors.New("the key is neither PKCS#8, PKCS#1 nor SEC 1")
}
