package vault

// Token returns the client's current Vault token (tests check that a replaced one is
// revoked).
func Token(c *Client) string { return c.api.Token() }
