package mailsource

// Unexported helpers the tests of package mailsource_test check directly.
var (
	LooksLikeEnvelope = looksLikeEnvelope
	NormalizedSize    = normalizedSize
)
