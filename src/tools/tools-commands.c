/* tools-commands.c — power actions through the guest's init, and the
 * FIFREEZE/FITHAW quiesce used before snapshots.
 */
#include "tools-commands.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <mntent.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/reboot.h>
#include <time.h>
#include <unistd.h>

#define MAX_FROZEN 64

static char frozen[MAX_FROZEN][256];
static int n_frozen;

static void read_init_name(char *out, size_t size)
{
    out[0] = '\0';
    FILE *f = fopen("/proc/1/comm", "re");
    if (!f)
        return;
    if (fgets(out, (int)size, f))
        out[strcspn(out, "\n")] = '\0';
    fclose(f);
}

void commands_power(PowerAction action, int grace_s)
{
    char init_name[64];
    int sig;

    sync();
    read_init_name(init_name, sizeof init_name);
    if (strcmp(init_name, "systemd") == 0)
        sig = action == POWER_ACTION_POWEROFF ? SIGRTMIN + 4 : SIGRTMIN + 5;
    else
        sig = action == POWER_ACTION_POWEROFF ? SIGUSR2 : SIGTERM;
    if (kill(1, sig) == 0) {
        /* init will stop us on its way down; if it does not, act alone. */
        struct timespec ts = { grace_s, 0 };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
            ;
    }
    sync();
    reboot(action == POWER_ACTION_POWEROFF ? RB_POWER_OFF : RB_AUTOBOOT);
}

/* Block-backed (a /dev node), read-write, and not one of the kernel's own. */
static bool is_freezable(const struct mntent *m)
{
    return strncmp(m->mnt_fsname, "/dev/", 5) == 0 && hasmntopt(m, "rw") != NULL;
}

static int ioctl_path(const char *dir, unsigned long request)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = ioctl(fd, request, 0);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

static void thaw_ours(void)
{
    while (n_frozen > 0)
        ioctl_path(frozen[--n_frozen], FITHAW);
}

int commands_freeze(char *error, size_t error_size)
{
    char dirs[MAX_FROZEN][256];
    int n_dirs = 0;

    if (n_frozen > 0)
        return n_frozen; /* already frozen: freezing twice is not an error */
    FILE *f = setmntent("/proc/mounts", "re");
    if (!f) {
        snprintf(error, error_size, "cannot read /proc/mounts: %s", strerror(errno));
        return -1;
    }
    struct mntent *m;
    while ((m = getmntent(f)) && n_dirs < MAX_FROZEN) {
        if (is_freezable(m) && strlen(m->mnt_dir) < sizeof dirs[0])
            snprintf(dirs[n_dirs++], sizeof dirs[0], "%s", m->mnt_dir);
    }
    endmntent(f);
    /* Last mounted first, so a filesystem mounted on another is frozen
     * before the one beneath it. */
    for (int i = n_dirs - 1; i >= 0; i--) {
        if (ioctl_path(dirs[i], FIFREEZE) == 0) {
            snprintf(frozen[n_frozen++], sizeof frozen[0], "%s", dirs[i]);
        } else if (errno != EOPNOTSUPP && errno != EBUSY) {
            /* EBUSY: already frozen by someone else; EOPNOTSUPP: the
             * filesystem cannot freeze, nothing to quiesce there. */
            snprintf(error, error_size, "cannot freeze %s: %s", dirs[i], strerror(errno));
            thaw_ours();
            return -1;
        }
    }
    return n_frozen;
}

int commands_thaw(void)
{
    int count = n_frozen;
    thaw_ours();
    /* Also thaw what an earlier run of the agent froze before it died. */
    FILE *f = setmntent("/proc/mounts", "re");
    if (!f)
        return count;
    struct mntent *m;
    while ((m = getmntent(f)))
        if (is_freezable(m) && ioctl_path(m->mnt_dir, FITHAW) == 0)
            count++;
    endmntent(f);
    return count;
}

bool commands_frozen(void)
{
    return n_frozen > 0;
}
