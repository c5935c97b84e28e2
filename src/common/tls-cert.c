/* tls-cert.c — placeholder, being written. */
