package externalsecret

import "github.com/vigil-dev/vigil/providers"

// maxMessage bounds the Ready condition's message and the event of a failed sync: one line
// a person reads, however long the keys and names it quotes.
const maxMessage = 1024

// oneLine is a failure message as the condition and the event show it: control characters
// (newlines included) replaced, cut at maxMessage bytes.
func oneLine(msg string) string {
	return providers.Truncate(msg, maxMessage)
}
