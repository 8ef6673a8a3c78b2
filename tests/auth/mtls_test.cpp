// Mutual TLS: see below.
