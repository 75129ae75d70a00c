package policy

import (
	"io/fs"

	"github.com/vigil-dev/vigil/rego"
)

func regoLibrary() fs.FS { return rego.Library }
