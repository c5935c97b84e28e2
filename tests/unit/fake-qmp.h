/* fake-qmp.h — a scripted QMP peer on a real unix socket, for tests.
 *
 * The test writes a script (greet, expect a command, answer it, send an
 * event, disconnect...), starts the peer, drives a QmpClient, then calls
 * fake_qmp_finish(), which fails the test if the client sent anything the
 * script did not expect, in that order. The peer runs in its own thread with
 * blocking I/O, so sync client calls (which iterate a private main context)
 * work against it.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct FakeQmp FakeQmp;

FakeQmp *fake_qmp_new(void);
/* The socket the client connects to (in a private temporary directory). */
const char *fake_qmp_get_path(FakeQmp *fake);

/* Script steps, performed in order once started. */
/* Sends QEMU's greeting, expects qmp_capabilities and answers {}. */
void fake_qmp_greet(FakeQmp *fake);
/* Expects the next command to be `execute` with exactly these arguments
 * (JSON text; NULL: no "arguments" member). Returns the command's index,
 * for the answer steps. */
int fake_qmp_expect(FakeQmp *fake, const char *execute, const char *arguments_json);
/* The same, and the command must carry exactly one fd (SCM_RIGHTS), into
 * which the peer writes `data` before closing it. */
int fake_qmp_expect_fd(FakeQmp *fake, const char *execute, const char *arguments_json,
                       const char *data);
/* Answers command `index` with {"return": <return_json>, "id": <its id>}. */
void fake_qmp_return(FakeQmp *fake, int index, const char *return_json);
/* Answers command `index` with {"error": {"class": klass, "desc": desc}}. */
void fake_qmp_error(FakeQmp *fake, int index, const char *klass, const char *desc);
/* Sends text verbatim (events, garbage, half a message). */
void fake_qmp_send(FakeQmp *fake, const char *text);
/* Sends `bytes` bytes with no newline; the client may hang up meanwhile. */
void fake_qmp_send_flood(FakeQmp *fake, gsize bytes);
/* Closes the connection (the script must end here). */
void fake_qmp_disconnect(FakeQmp *fake);

/* Starts performing the script. */
void fake_qmp_start(FakeQmp *fake);
/* Waits until the script is done and, unless it ended with a disconnect,
 * until the client has closed (any command received meanwhile is an
 * error); asserts that nothing unexpected happened; frees the peer. */
void fake_qmp_finish(FakeQmp *fake);

G_END_DECLS
