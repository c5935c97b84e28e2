/* center-tasks.c — long operations as tasks (/api/cis/tasks), the one
 * operation per VM rule, and the event log.
 *
 * A task is stored RUNNING when it begins and finished (SUCCEEDED/FAILED)
 * when it ends, each change durable before it is reported. With
 * ?vmw-task=true the caller gets the task id at once (202) and polls;
 * otherwise the HTTP answer waits for the end.
 */
#include "center.h"
#include "json-util.h"
#include "vireo-error.h"

struct CenterTask {
    Center *center;
    char *id;
    char *target;
    char *operation;
    ApiRequest *request;        /* while the caller waits for the end */
};

void
center_event(Center *center, const char *user, const char *object, const char *type,
             gboolean error, const char *task, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    g_autofree char *message = g_strdup_vprintf(format, ap);
    va_end(ap);
    g_autoptr(StoreObject) obj = object ? store_object_get(center->store, object, NULL) : NULL;
    StoreEvent ev = { 0 };
    ev.user = (char *)user;
    ev.object = (char *)object;
    ev.object_name = obj ? obj->name : NULL;
    ev.type = (char *)type;
    ev.message = message;
    ev.error = error;
    ev.task = (char *)task;
    g_autoptr(GError) local = NULL;
    if (store_event_append(center->store, &ev, &local) < 0)
        g_warning("event not recorded: %s", local->message);
}

CenterTask *
center_task_begin(Center *center, ApiRequest *request, const char *operation,
                  const char *target_type, const char *target_id)
{
    g_autoptr(GError) error = NULL;
    const char *user = api_request_user(request);
    g_autofree char *id = store_task_create(center->store, operation, target_type, target_id,
                                            user, &error);
    if (!id || !store_task_start(center->store, id, &error)) {
        api_request_reply_error(request, error);
        return NULL;
    }
    CenterTask *task = g_new0(CenterTask, 1);
    task->center = center;
    task->id = g_steal_pointer(&id);
    task->target = g_strdup(target_id);
    task->operation = g_strdup(operation);
    if (g_strcmp0(api_request_query(request, "vmw-task"), "true") == 0)
        api_request_reply_json(request, 202, json_util_string_node(task->id));
    else
        task->request = api_request_ref(request);
    return task;
}

const char *
center_task_id(CenterTask *task)
{
    return task->id;
}

void
center_task_progress(CenterTask *task, int percent, const char *message)
{
    store_task_set_progress(task->center->store, task->id, CLAMP(percent, 0, 100), message, NULL);
}

static void
center_task_free(CenterTask *task)
{
    if (task->request)
        api_request_unref(task->request);
    g_free(task->id);
    g_free(task->target);
    g_free(task->operation);
    g_free(task);
}

void
center_task_succeed(CenterTask *task, guint status, JsonNode *result)
{
    g_autofree char *json = result ? json_util_to_string(result, FALSE) : NULL;
    g_autoptr(GError) error = NULL;
    store_task_set_progress(task->center->store, task->id, 100, NULL, NULL);
    if (!store_task_finish(task->center->store, task->id, STORE_TASK_SUCCEEDED, json,
                           NULL, &error))
        g_warning("task %s: %s", task->id, error->message);
    if (task->request) {
        if (result)
            api_request_reply_json(task->request, status, json_node_copy(result));
        else
            api_request_reply_empty(task->request, status);
    }
    if (result)
        json_node_unref(result);
    center_task_free(task);
}

void
center_task_fail(CenterTask *task, const GError *error)
{
    VireoErrorCode code = vireo_error_code_of(error);
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "error_type");
    json_builder_add_string_value(b, vireo_error_type_name(code));
    json_builder_set_member_name(b, "messages");
    json_builder_begin_array(b);
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "id");
    json_builder_add_string_value(b, "vireo.task.failed");
    json_builder_set_member_name(b, "default_message");
    json_builder_add_string_value(b, error->message);
    json_builder_set_member_name(b, "args");
    json_builder_begin_array(b);
    json_builder_end_array(b);
    json_builder_end_object(b);
    json_builder_end_array(b);
    json_builder_end_object(b);
    g_autoptr(JsonNode) node = json_builder_get_root(b);
    g_autofree char *json = json_util_to_string(node, FALSE);
    store_task_finish(task->center->store, task->id, STORE_TASK_FAILED, NULL, json, NULL);
    if (task->request)
        api_request_reply_error(task->request, error);
    center_task_free(task);
}

gboolean
center_vm_lock(Center *center, ApiRequest *request, const char *vm, CenterTask *task)
{
    const char *holder = g_hash_table_lookup(center->vm_locks, vm);
    if (holder) {
        g_autoptr(StoreTask) t = store_task_get(center->store, holder, NULL);
        center_reply_error(request, VIREO_ERROR_RESOURCE_BUSY,
                           "virtual machine %s is busy: task %s (%s) is running; retry when it "
                           "ends", vm, holder, t ? t->operation : "?");
        return FALSE;
    }
    g_hash_table_insert(center->vm_locks, g_strdup(vm),
                        g_strdup(task ? center_task_id(task) : "request"));
    return TRUE;
}

void
center_vm_lock_set_task(Center *center, const char *vm, CenterTask *task)
{
    g_hash_table_replace(center->vm_locks, g_strdup(vm), g_strdup(center_task_id(task)));
}

void
center_vm_unlock(Center *center, const char *vm)
{
    g_hash_table_remove(center->vm_locks, vm);
}
