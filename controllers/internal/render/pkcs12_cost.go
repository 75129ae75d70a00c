package render

import (
	"encoding/asn1"
	"fmt"
	"math/big"

	"github.com/vigil-dev/vigil/internal/safetpl"
)

// maxPKCS12Iterations bounds the key-derivation iteration counts of a PKCS#12 archive. The
// archive is a fetched value, and the backend's owner is not trusted for its cost: the
// library runs whatever count the archive names, in one call no deadline can interrupt,
// and 2^31 iterations take minutes. Real archives use 2,048 to 600,000.
const maxPKCS12Iterations = 1 << 20

// checkPKCS12Cost refuses an archive that names an iteration count over the limit. In
// every structure of PKCS#12 that holds one (the MAC data, PBE parameters, PBKDF2
// parameters) the count is an INTEGER that follows the salt, an OCTET STRING, in the same
// SEQUENCE; no other structure readable before decryption has that shape.
func checkPKCS12Cost(der []byte) error {
	return walkDER(der, 0)
}

func walkDER(der []byte, depth int) error {
	if depth > 32 {
		return nil
	}
	for len(der) > 0 {
		var v asn1.RawValue
		rest, err := asn1.Unmarshal(der, &v)
		if err != nil {
			return nil // not DER (ciphertext): the library reports what is wrong
		}
		der = rest
		if v.Class == asn1.ClassUniversal && v.Tag == asn1.TagSequence {
			if err := checkIterations(v.Bytes); err != nil {
				return err
			}
		}
		if v.IsCompound || (v.Class == asn1.ClassUniversal && v.Tag == asn1.TagOctetString) {
			if err := walkDER(v.Bytes, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkIterations looks at the direct children of one SEQUENCE for an INTEGER after an
// OCTET STRING.
func checkIterations(body []byte) error {
	afterOctets := false
	for len(body) > 0 {
		var v asn1.RawValue
		rest, err := asn1.Unmarshal(body, &v)
		if err != nil {
			return nil
		}
		body = rest
		if afterOctets && v.Class == asn1.ClassUniversal && v.Tag == asn1.TagInteger {
			if n := new(big.Int).SetBytes(v.Bytes); n.Cmp(big.NewInt(maxPKCS12Iterations)) > 0 {
				return safetpl.Reason(fmt.Sprintf(
					"the archive asks for more than %d key-derivation iterations (the PKCS#12 limit)", maxPKCS12Iterations))
			}
		}
		afterOctets = v.Class == asn1.ClassUniversal && v.Tag == asn1.TagOctetString
	}
	return nil
}
