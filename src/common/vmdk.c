/* vmdk.c — placeholder, being written. */
