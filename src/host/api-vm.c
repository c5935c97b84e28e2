/* api-vm.c — placeholder, being written. */
