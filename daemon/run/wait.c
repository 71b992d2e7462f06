/* SPDX-License-Identifier: MIT */
/*
 * See wait.h. A poll round asks for the pending images by id, FILTER_VALUES_MAX at
 * a time, one call after the other: ceil(pending / 200) calls, fewer as images
 * complete. A poll by tag (amirotd:policy and amirotd:slot) would cost a page per
 * 1000 images of the slot, but it sees an image only once its tags are visible
 * too, and not at all one that a person or an older version left without them; an
 * id is listed as soon as EC2 lists the image.
 */
#include <stdio.h>

#include "run/exec.h"
#include "run/wait.h"
#include "base/log.h"

/* EC2 answers FilterLimitExceeded past this: "The maximum number of filter values
 * specified on a single call is 200" (EC2's message; the API reference states no
 * number). Values are counted over all filters of a call. */
#define FILTER_VALUES_MAX 200

/*
 * The poll schedule. DescribeImages draws on the non-mutating bucket of the region,
 * "100 tokens and the refill rate is 20 tokens per second" (aws/pace.c), which the
 * run's own describes, other policies in the region and other tools share: the
 * polls take a modest share of the refill, one call a second (5 %), so a round of
 * k calls comes at least k seconds after the previous one. Within that, an image
 * is first asked for when it may be ready: poll_initial after its creation at
 * first, then after three quarters of the shortest time an image of this run took
 * to be seen available (the observation includes up to one interval's latency).
 * An image still pending after that is asked for again after an eighth of its age
 * (at most poll_max), so it is noticed within about 12 % of the time it took,
 * seconds for images of seconds, and a ten-minute build costs some forty polls
 * rather than hundreds.
 */
#define POLL_CALLS_PER_SEC 1
#define POLL_AGE_DIVISOR 8

typedef struct pending_image {
        char *image_id;
        char *instance_id;
        usec_t added;                   /* CLOCK_MONOTONIC: created, for its timeout and schedule */
        bool seen;                      /* listed by a poll once: absent later means gone */
        bool done;                      /* available or failed: leaves at the end of the round */
} pending_image;

struct waiter {
        wait_options options;
        wait_callback callback;
        void *userdata;

        pending_image *pending;         /* oldest first */
        size_t n_pending;               /* entries of pending[], done ones until the round ends */
        size_t n_done;                  /* of them, done */
        ec2_op *poll;                   /* DescribeImages of the pending images, in flight */
        size_t poll_from, poll_next;    /* the chunk of pending[] in flight, and the next one */
        sd_event_source *timer;         /* the next round, when armed */
        bool timer_armed;
        bool started;
        bool aborted;                   /* WAIT_ABORTED said: nothing more is polled */
        usec_t build_estimate;          /* 3/4 of the shortest build seen available; 0: none yet */
        usec_t last_round;              /* CLOCK_MONOTONIC: the last round's start */
        unsigned last_round_calls;
        unsigned polls;                 /* DescribeImages calls made */
        bool polls_failing;             /* the last poll failed, and WAIT_POLLS_FAILING said so */
};

static void pending_image_done(pending_image *p) {
        free(p->image_id);
        free(p->instance_id);
}

int waiter_new(const wait_options *o, wait_callback cb, void *userdata, waiter **ret) {
        waiter *w;

        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        *w = (waiter) { .options = *o, .callback = cb, .userdata = userdata };
        *ret = w;
        return 0;
}

waiter *waiter_free(waiter *w) {
        if (!w)
                return NULL;
        ec2_op_cancel(w->poll);
        sd_event_source_disable_unref(w->timer);
        for (size_t i = 0; i < w->n_pending; i++)
                pending_image_done(&w->pending[i]);
        free(w->pending);
        return mfree(w);
}

static int schedule_poll(waiter *w);

/* Whether the newest image's first check comes before the round the timer is set for. */
static bool first_check_sooner(const waiter *w) {
        usec_t at, expect = w->build_estimate ?: w->options.poll_initial;

        return sd_event_source_get_time(w->timer, &at) < 0 ||
               at > w->pending[w->n_pending - 1].added + expect;
}

int waiter_add(waiter *w, const char *image_id, const char *instance_id) {
        pending_image *n;

        n = reallocarray(w->pending, w->n_pending + 1, sizeof(*n));
        if (!n)
                return -ENOMEM;
        w->pending = n;
        n[w->n_pending] = (pending_image) {
                .image_id = strdup(image_id),
                .instance_id = strdup(instance_id),
                .added = now_usec(CLOCK_MONOTONIC),
        };
        if (!n[w->n_pending].image_id || !n[w->n_pending].instance_id) {
                pending_image_done(&n[w->n_pending]);
                return -ENOMEM;
        }
        w->n_pending++;
        /* With no round in flight, this image may need the next one sooner than planned (the
         * timer may wait out an older image's long gap); a round in flight plans the next. */
        if (w->started && !w->aborted && !w->poll && (!w->timer_armed || first_check_sooner(w)))
                return schedule_poll(w);
        return 0;
}

unsigned waiter_pending(const waiter *w) {
        return w ? (unsigned) (w->n_pending - w->n_done) : 0;
}

unsigned waiter_polls(const waiter *w) {
        return w ? w->polls : 0;
}

static log_fields wait_fields(const waiter *w) {
        return (log_fields) { .policy = w->options.policy->name, .region = w->options.region };
}

static void emit(waiter *w, wait_event_kind kind, int error, size_t images) {
        w->callback(&(wait_event) { .kind = kind, .error = error, .images = (unsigned) images }, w->userdata);
}

static void emit_image(waiter *w, wait_event_kind kind, int error, const pending_image *p, const ec2_image *img) {
        w->callback(&(wait_event) { .kind = kind, .error = error, .images = 1, .image_id = p->image_id,
                                    .instance_id = p->instance_id, .image = img }, w->userdata);
}

/* One pending image against a poll's answer (img NULL: not listed). An image EC2 has
 * not listed yet is not gone: a new image may be invisible to DescribeImages for a
 * while (EC2's eventual consistency), and image.wait_timeout bounds that wait. Once
 * listed, its absence means it was deregistered. */
static void poll_check_one(waiter *w, pending_image *p, const ec2_image *img) {
        log_fields f = wait_fields(w);

        if (img)
                p->seen = true;
        if (img ? img->state == EC2_IMAGE_PENDING : !p->seen)
                return;

        f.instance_id = p->instance_id;
        f.image_id = p->image_id;
        p->done = true;
        w->n_done++;
        if (img && img->state == EC2_IMAGE_AVAILABLE) {
                usec_t took = now_usec(CLOCK_MONOTONIC) - p->added, estimate = took / 4 * 3;

                if (w->build_estimate == 0 || estimate < w->build_estimate)
                        w->build_estimate = MAX(estimate, 1);
                log_full(LOG_INFO, 0, MESSAGE_IMAGE_AVAILABLE, &f, "image %s of %s is available (seen after %llus)",
                         p->image_id, p->instance_id, (unsigned long long) (took / USEC_PER_SEC));
                emit_image(w, WAIT_AVAILABLE, 0, p, img);
                return;
        }
        log_full(LOG_ERR, 0, MESSAGE_IMAGE_FAILED, &f, "image %s of %s %s%s%s",
                 p->image_id, p->instance_id,
                 img ? "went " : "disappeared",
                 img ? ec2_image_state_to_string(img->state) : "",
                 img && img->state_reason ? img->state_reason : "");
        emit_image(w, WAIT_FAILED, -EIO, p, img);
}

/* The images of the chunk just polled. */
static void poll_check(waiter *w, const ec2_image_list *l) {
        for (size_t i = w->poll_from; i < w->poll_next; i++) {
                const ec2_image *img = NULL;

                for (size_t j = 0; j < l->n && !img; j++)
                        if (streq(l->items[j].id, w->pending[i].image_id))
                                img = &l->items[j];
                poll_check_one(w, &w->pending[i], img);
        }
}

/* At the end of a round, available and failed images leave the list. */
static void poll_remove_done(waiter *w) {
        size_t n = 0;

        for (size_t i = 0; i < w->n_pending; i++)
                if (w->pending[i].done)
                        pending_image_done(&w->pending[i]);
                else
                        w->pending[n++] = w->pending[i];
        w->n_pending = n;
        w->n_done = 0;
}

/* Images pending past image.wait_timeout since their creation count as failed: one
 * WAIT_TIMED_OUT for them all. At the end of a round, after poll_remove_done(). */
static void poll_time_out(waiter *w) {
        usec_t now = now_usec(CLOCK_MONOTONIC);
        const policy *p = w->options.policy;
        size_t timed_out = 0;

        for (size_t i = 0; i < w->n_pending; i++) {
                log_fields f = wait_fields(w);

                if (now - w->pending[i].added < p->wait_timeout * USEC_PER_SEC)
                        continue;
                f.instance_id = w->pending[i].instance_id;
                f.image_id = w->pending[i].image_id;
                log_full(LOG_ERR, 0, MESSAGE_IMAGE_FAILED, &f,
                         "image %s of %s %s after image.wait_timeout %llus; its predecessors stay",
                         f.image_id, f.instance_id,
                         w->pending[i].seen ? "is still pending" : "was never listed by DescribeImages",
                         (unsigned long long) p->wait_timeout);
                w->pending[i].done = true;
                timed_out++;
        }
        if (timed_out == 0)
                return;
        w->n_done = timed_out;
        poll_remove_done(w);
        emit(w, WAIT_TIMED_OUT, -ETIMEDOUT, timed_out);
}

static void on_polled(int r, ec2_image_list *l, const aws_error *err, void *userdata);

static void wait_abort(waiter *w, int r) {
        w->aborted = true;
        emit(w, WAIT_ABORTED, r, 0);
}

/* The next chunk of the round. A filter rather than ImageIds: an image deregistered
 * meanwhile must not fail the poll. */
static int poll_send(waiter *w) {
        char *chunk[FILTER_VALUES_MAX + 1] = {};
        ec2_filter filter = { .name = "image-id", .values = chunk };
        size_t n = 0;

        w->poll_from = w->poll_next;
        while (w->poll_next < w->n_pending && n < FILTER_VALUES_MAX)
                chunk[n++] = w->pending[w->poll_next++].image_id;
        w->polls++;
        return ec2_describe_images(w->options.ec2, &filter, 1, NULL, on_polled, w, &w->poll);
}

static void on_polled(int r, ec2_image_list *l, const aws_error *err, void *userdata) {
        waiter *w = userdata;

        w->poll = NULL;
        if (r < 0) {
                log_fields f = wait_fields(w);
                _cleanup_(freep) char *why = exec_aws_reason(r, err, "DescribeImages");

                f.action = "DescribeImages";
                exec_log_aws(LOG_WARNING, r, err, &f, "cannot poll pending images, will retry");
                w->poll_next = w->n_pending;    /* the next round asks again */
                w->polls_failing = true;
                w->callback(&(wait_event) { .kind = WAIT_POLLS_FAILING,
                                            .why = why ?: "cannot poll pending images" }, w->userdata);
        } else {
                if (w->polls_failing)
                        emit(w, WAIT_POLLS_RECOVERED, 0, 0);
                w->polls_failing = false;
                poll_check(w, l);
                emit(w, WAIT_POLLED, 0, 0);
        }

        if (w->poll_next < w->n_pending)
                r = poll_send(w);
        else {
                poll_remove_done(w);
                poll_time_out(w);
                if (w->n_pending == 0) {
                        emit(w, WAIT_IDLE, 0, 0);
                        return;
                }
                r = schedule_poll(w);
        }
        if (r < 0)
                wait_abort(w, r);
}

static int on_poll_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        waiter *w = userdata;
        int r;

        (void) s;
        (void) usec;
        w->timer_armed = false;
        w->poll_next = 0;
        w->last_round = now_usec(CLOCK_MONOTONIC);
        w->last_round_calls = (unsigned) ((w->n_pending + FILTER_VALUES_MAX - 1) / FILTER_VALUES_MAX);
        r = poll_send(w);
        if (r < 0)
                wait_abort(w, r);
        return 0;
}

/* When the next round is due, from now (see POLL_CALLS_PER_SEC): the soonest of the
 * pending images' own next checks, but no sooner than the share allows after the last
 * round, whose calls it paid for. */
static usec_t next_round_delay(const waiter *w, usec_t now) {
        usec_t expect = w->build_estimate ?: w->options.poll_initial, delay = USEC_INFINITY, budget, since;

        for (size_t i = 0; i < w->n_pending; i++) {
                usec_t age = now - w->pending[i].added;

                delay = MIN(delay, age < expect ? expect - age : MIN(age / POLL_AGE_DIVISOR, w->options.poll_max));
        }
        budget = (usec_t) w->last_round_calls * USEC_PER_SEC / POLL_CALLS_PER_SEC;
        since = now - w->last_round;
        if (w->last_round > 0 && since < budget)
                delay = MAX(delay, budget - since);
        return delay == USEC_INFINITY ? w->options.poll_initial : delay;
}

static int schedule_poll(waiter *w) {
        usec_t delay = next_round_delay(w, now_usec(CLOCK_MONOTONIC));
        char description[128];
        int r;

        w->timer_armed = true;
        if (!w->timer) {
                r = sd_event_add_time_relative(w->options.event, &w->timer,
                                               CLOCK_MONOTONIC, delay, 0, on_poll_timer, w);
                if (r < 0)
                        return r;
                snprintf(description, sizeof(description), "poll %s/%s", w->options.policy->name,
                         w->options.region);
                (void) sd_event_source_set_description(w->timer, description);
                return 0;
        }
        r = sd_event_source_set_time_relative(w->timer, delay);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(w->timer, SD_EVENT_ONESHOT);
}

int waiter_start(waiter *w) {
        if (w->started)
                return -EBUSY;
        w->started = true;
        return w->n_pending > 0 ? schedule_poll(w) : 0;
}
