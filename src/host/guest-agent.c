/* guest-agent.c — placeholder, being written. */
