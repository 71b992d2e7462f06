/* SPDX-License-Identifier: MIT */
/*
 * HTTP for the AWS client on libcurl's multi-socket interface, driven by
 * sd-event so that no request ever blocks the daemon's loop. This file is the
 * scheduling: the multi handle, its sockets and timer on the loop, the queue
 * and the calls' lives; one request's easy handle, its callbacks and the
 * response made of it are http-transfer.c's. The shape follows
 * systemd's src/import/curl-util.c: curl tells us which sockets to watch
 * (CURLMOPT_SOCKETFUNCTION → one sd-event io source per socket) and when to
 * call it back (CURLMOPT_TIMERFUNCTION → one CLOCK_MONOTONIC time source); we
 * tell curl what happened with curl_multi_socket_action() and then collect
 * finished transfers with curl_multi_info_read().
 *
 * One multi handle per client keeps one connection cache, so requests to the
 * same endpoint reuse kept-alive connections. A global cap on requests in
 * flight queues the excess in FIFO order. Callbacks run only from the event
 * loop, never from inside curl or from a function the caller called; cancel
 * and free never call back. The module never logs: it returns -errno and
 * curl's own message.
 */
#include <sys/epoll.h>

#include "http-transfer.h"
#include "list.h"

/* Connections per host: the requests in flight to one regional endpoint, at most. */
#define DEFAULT_MAX_HOST_CONNECTIONS 32L

typedef struct http_socket http_socket;

struct http_socket {
        http_client *client;
        curl_socket_t fd;
        sd_event_source *io;
        http_socket *prev, *next;
};

struct http_call {
        http_client *client;
        http_call *prev, *next;         /* in client->active or client->queued */
        bool queued;
        bool dispatching;               /* its callback is running */

        http_transfer transfer;
        usec_t started;

        http_callback callback;
        void *userdata;
};

struct http_client {
        sd_event *event;
        CURLM *multi;
        sd_event_source *timer;         /* curl's timeout */
        sd_event_source *kick;          /* starts queued calls from the loop */
        http_socket *sockets;

        http_call *active;              /* added to the multi handle */
        http_call *active_tail;
        unsigned n_active;
        http_call *queued;              /* FIFO: head is next */
        http_call *queued_tail;
        unsigned n_queued;
        unsigned max_in_flight;         /* 0: no limit */

        bool dispatching;               /* a callback is running */
        bool free_requested;            /* http_client_free() was called from a callback */
};

static http_call *http_call_free(http_call *call) {
        if (!call)
                return NULL;
        if (call->transfer.easy && !call->queued && call->client && call->client->multi)
                curl_multi_remove_handle(call->client->multi, call->transfer.easy);
        http_transfer_done(&call->transfer);
        return mfree(call);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(http_call *, http_call_free);

/* Takes call off the client's lists, so that its callback or its free leaves nothing behind. */
static void call_detach(http_call *call) {
        http_client *c = call->client;

        if (call->queued) {
                LIST_REMOVE(c->queued, &c->queued_tail, call);
                c->n_queued--;
        } else {
                LIST_REMOVE(c->active, &c->active_tail, call);
                c->n_active--;
        }
}

static bool client_has_room(const http_client *c) {
        return c->max_in_flight == 0 || c->n_active < c->max_in_flight;
}

static void client_kick(http_client *c) {
        if (c->n_queued > 0 && client_has_room(c) && c->kick)
                (void) sd_event_source_set_enabled(c->kick, SD_EVENT_ONESHOT);
}

static void client_destroy(http_client *c);

/*
 * Hands a finished call, already detached from the client's lists, to its
 * callback, then frees it. The callback may submit, cancel, or free the client;
 * the client then goes when the callback returns. Returns true when the client
 * is gone and the caller must not touch it.
 */
static bool call_complete(http_call *call, http_response *resp) {
        http_client *c = call->client;

        call->dispatching = true;
        c->dispatching = true;
        call->callback(call, resp, call->userdata);
        c->dispatching = false;
        http_response_done(resp);

        /* http_client_free() from the callback removed every other call but not this one. */
        http_call_free(call);
        if (c->free_requested) {
                client_destroy(c);
                return true;
        }
        client_kick(c);
        return false;
}

/* Turns a finished transfer into a response and calls back. Returns true when the client is gone. */
static bool call_finished(http_call *call, CURLcode code) {
        http_response resp = {};

        curl_multi_remove_handle(call->client->multi, call->transfer.easy);
        call_detach(call);
        http_transfer_response(&call->transfer, code, &resp);
        resp.elapsed = now_usec(CLOCK_MONOTONIC) - call->started;
        return call_complete(call, &resp);
}

/* Reads every finished transfer. Returns true when the client is gone. */
static bool client_process_done(http_client *c) {
        CURLMsg *msg;
        int left;

        while ((msg = curl_multi_info_read(c->multi, &left))) {
                char *p = NULL;

                if (msg->msg != CURLMSG_DONE)
                        continue;
                if (curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &p) != CURLE_OK || !p)
                        continue;
                if (call_finished((http_call *) p, msg->data.result))
                        return true;
        }
        return false;
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        http_socket *hs = userdata;
        http_client *c = hs->client;
        int action = 0, running;

        (void) s;
        if (revents & EPOLLIN)
                action |= CURL_CSELECT_IN;
        if (revents & EPOLLOUT)
                action |= CURL_CSELECT_OUT;
        if (revents & (EPOLLERR | EPOLLHUP))
                action |= CURL_CSELECT_ERR;

        /* hs may be freed by curl's socket callback in here: use only c from now on. */
        (void) curl_multi_socket_action(c->multi, fd, action, &running);
        (void) client_process_done(c);
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        http_client *c = userdata;
        int running;

        (void) s;
        (void) usec;
        (void) curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        (void) client_process_done(c);
        return 0;
}

static http_socket *http_socket_free(http_socket *hs) {
        http_client *c;

        if (!hs)
                return NULL;
        c = hs->client;
        LIST_REMOVE(c->sockets, NULL, hs);
        sd_event_source_disable_unref(hs->io);
        return mfree(hs);
}

static int socket_callback(CURL *easy, curl_socket_t fd, int what, void *userdata, void *socketp) {
        http_client *c = userdata;
        http_socket *hs = socketp;
        uint32_t events = 0;
        int r;

        (void) easy;
        if (what == CURL_POLL_REMOVE) {
                if (hs) {
                        curl_multi_assign(c->multi, fd, NULL);
                        http_socket_free(hs);
                }
                return 0;
        }

        if (what & CURL_POLL_IN)
                events |= EPOLLIN;
        if (what & CURL_POLL_OUT)
                events |= EPOLLOUT;

        if (!hs) {
                hs = calloc(1, sizeof(*hs));
                if (!hs)
                        return -1;
                hs->client = c;
                hs->fd = fd;
                r = sd_event_add_io(c->event, &hs->io, fd, events, on_io, hs);
                if (r < 0) {
                        free(hs);
                        return -1;
                }
                (void) sd_event_source_set_description(hs->io, "http-socket");
                LIST_PREPEND(c->sockets, NULL, hs);
                if (curl_multi_assign(c->multi, fd, hs) != CURLM_OK) {
                        http_socket_free(hs);
                        return -1;
                }
        } else if (sd_event_source_set_io_events(hs->io, events) < 0)
                return -1;

        if (sd_event_source_set_enabled(hs->io, events ? SD_EVENT_ON : SD_EVENT_OFF) < 0)
                return -1;
        return 0;
}

static int timer_callback(CURLM *multi, long timeout_ms, void *userdata) {
        http_client *c = userdata;
        usec_t when;
        int r;

        (void) multi;
        if (timeout_ms < 0)
                return c->timer && sd_event_source_set_enabled(c->timer, SD_EVENT_OFF) < 0 ? -1 : 0;

        when = now_usec(CLOCK_MONOTONIC) + (usec_t) timeout_ms * USEC_PER_MSEC;
        if (!c->timer) {
                /* Accuracy 1 µs: the default (250 ms) would delay every step curl schedules. */
                r = sd_event_add_time(c->event, &c->timer, CLOCK_MONOTONIC, when, 1, on_timer, c);
                if (r < 0)
                        return -1;
                (void) sd_event_source_set_description(c->timer, "http-timer");
                return 0;
        }
        if (sd_event_source_set_time(c->timer, when) < 0 ||
            sd_event_source_set_enabled(c->timer, SD_EVENT_ONESHOT) < 0)
                return -1;
        return 0;
}

/* Adds a call to the multi handle; on failure the call is left as it was. */
static int call_start(http_call *call) {
        http_client *c = call->client;
        CURLMcode mc;
        int r;

        call->started = now_usec(CLOCK_MONOTONIC);
        r = http_transfer_open(&call->transfer, call);
        if (r < 0)
                return r;
        mc = curl_multi_add_handle(c->multi, call->transfer.easy);
        if (mc != CURLM_OK)
                return mc == CURLM_OUT_OF_MEMORY ? -ENOMEM : -EIO;
        call->queued = false;
        LIST_APPEND(c->active, &c->active_tail, call);
        c->n_active++;
        return 0;
}

static int on_kick(sd_event_source *s, void *userdata) {
        http_client *c = userdata;

        (void) s;
        while (c->queued && client_has_room(c)) {
                http_call *call = c->queued;
                int r;

                LIST_REMOVE(c->queued, &c->queued_tail, call);
                c->n_queued--;
                call->queued = false;
                r = call_start(call);
                if (r < 0) {
                        http_response resp = {};

                        http_response_fail(r, "Could not start the request", &resp);
                        if (call_complete(call, &resp))
                                return 0;
                }
        }
        return 0;
}

int http_client_submit(http_client *c, const http_request *req, http_callback cb, void *userdata, http_call **ret_call) {
        _cleanup_(http_call_freep) http_call *call = NULL;
        int r;

        if (!c || !req || !req->url || !cb || c->free_requested)
                return -EINVAL;
        if (req->body_size > 0 && !req->body)
                return -EINVAL;

        call = calloc(1, sizeof(*call));
        if (!call)
                return -ENOMEM;
        call->client = c;
        call->callback = cb;
        call->userdata = userdata;
        call->queued = true;    /* not in the multi handle yet */

        r = http_transfer_init(&call->transfer, req);
        if (r < 0)
                return r;

        if (c->n_queued == 0 && client_has_room(c)) {
                r = call_start(call);
                if (r < 0)
                        return r;
        } else {
                LIST_APPEND(c->queued, &c->queued_tail, call);
                c->n_queued++;
                client_kick(c);
        }

        if (ret_call)
                *ret_call = call;
        TAKE_PTR(call);
        return 0;
}

void http_call_cancel(http_call *call) {
        http_client *c;

        if (!call || call->dispatching)
                return;
        c = call->client;
        call_detach(call);
        http_call_free(call);
        client_kick(c);
}

unsigned http_client_in_flight(http_client *c) {
        return c ? c->n_active : 0;
}

unsigned http_client_queued(http_client *c) {
        return c ? c->n_queued : 0;
}

void http_client_set_max_in_flight(http_client *c, unsigned n) {
        if (!c)
                return;
        c->max_in_flight = n;
        /* Never let curl's own per-host limit queue what this cap lets through: its
         * timeouts would run while waiting. */
        (void) curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                                 (long) MAX(n, (unsigned) DEFAULT_MAX_HOST_CONNECTIONS));
        client_kick(c);
}

sd_event *http_client_get_event(http_client *c) {
        return c ? c->event : NULL;
}

int http_client_new(sd_event *event, http_client **ret) {
        http_client *c;
        int r;

        if (!ret)
                return -EINVAL;
        /* curl copies headers (X-Amz-Security-Token, a container's Authorization) and bodies
         * (a web-identity token): it wipes each block it frees. The first call's functions hold. */
        if (curl_global_init_mem(CURL_GLOBAL_DEFAULT, malloc, wipe_free, wipe_realloc, strdup, calloc) != CURLE_OK)
                return -EIO;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        if (event)
                c->event = sd_event_ref(event);
        else {
                r = sd_event_default(&c->event);
                if (r < 0)
                        goto fail;
        }

        r = -ENOMEM;
        c->multi = curl_multi_init();
        if (!c->multi)
                goto fail;
        r = -EIO;
        if (curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, socket_callback) != CURLM_OK ||
            curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c) != CURLM_OK ||
            curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_callback) != CURLM_OK ||
            curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c) != CURLM_OK ||
            curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, DEFAULT_MAX_HOST_CONNECTIONS) != CURLM_OK)
                goto fail;

        r = sd_event_add_defer(c->event, &c->kick, on_kick, c);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_enabled(c->kick, SD_EVENT_OFF);
        (void) sd_event_source_set_description(c->kick, "http-queue");

        *ret = c;
        return 0;

fail:
        client_destroy(c);
        return r;
}

static void client_cancel_all(http_client *c) {
        while (c->queued) {
                http_call *call = c->queued;
                call_detach(call);
                http_call_free(call);
        }
        while (c->active) {
                http_call *call = c->active;
                call_detach(call);
                http_call_free(call);
        }
}

static void client_destroy(http_client *c) {
        client_cancel_all(c);
        if (c->multi)
                curl_multi_cleanup(c->multi);   /* closes the cached connections */
        while (c->sockets)
                http_socket_free(c->sockets);
        sd_event_source_disable_unref(c->timer);
        sd_event_source_disable_unref(c->kick);
        sd_event_unref(c->event);
        free(c);
}

http_client *http_client_free(http_client *c) {
        if (!c)
                return NULL;
        if (c->dispatching) {
                /* Called from a callback: stop everything now, release the rest when it returns. */
                c->free_requested = true;
                client_cancel_all(c);
                (void) sd_event_source_set_enabled(c->kick, SD_EVENT_OFF);
                return NULL;
        }
        client_destroy(c);
        return NULL;
}

int http_client_run_until(http_client *c, const bool *done) {
        int r;

        if (!c || !done)
                return -EINVAL;
        while (!*done) {
                if (sd_event_get_state(c->event) == SD_EVENT_FINISHED)
                        return -ECANCELED;
                r = sd_event_run(c->event, UINT64_MAX);
                if (r < 0)
                        return r;
        }
        return 0;
}
