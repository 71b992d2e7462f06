/* SPDX-License-Identifier: MIT */
/* amirotd's command line: parses it and calls in. See amirotd(8). */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <sys/prctl.h>

#include "commands.h"
#include "base/log.h"
#include "loop.h"
#include "status.h"

/* One line each in `amirotd --help`; `amirotd help CMD` and `amirotd CMD --help` print the usage
 * and the options of one. Keep in step with amirotd(8), COMMANDS. */
typedef struct command_help {
        const char *name;
        const char *synopsis;
        const char *summary;
        const char *options;            /* the options that matter to this command */
} command_help;

static const command_help command_helps[] = {
        { "run", "amirotd [OPTIONS] [run]",
          "run as the service, a timer per policy and region (the default command)",
          "  -c, --config=FILE      global configuration (default /etc/amirotd/amirotd.yaml)\n"
          "      --policies=DIR     policies directory (default: from the configuration)\n" },
        { "check", "amirotd [OPTIONS] check [--dump]",
          "validate the configuration and summarise each policy",
          "  -p, --policy=NAME      only this policy\n"
          "      --dump             print the normalised configuration, every default filled in\n" },
        { "plan", "amirotd [OPTIONS] plan [--json]",
          "read EC2 and print what a run now would do; changes nothing",
          "  -p, --policy=NAME      only this policy\n"
          "      --json             JSON output; an object with \"error\" when EC2 could not be read\n" },
        { "once", "amirotd [OPTIONS] once [--dry-run] [--no-wait]",
          "run one cycle of every policy now, then exit",
          "  -p, --policy=NAME      only this policy\n"
          "      --dry-run          DryRun=true on every change, and check every permission a run needs\n"
          "      --no-wait          do not wait for new images to become available\n" },
        { "list", "amirotd [OPTIONS] list [--orphaned] [--json]",
          "list the managed images per policy and instance",
          "  -p, --policy=NAME      only this policy\n"
          "      --orphaned         the images of policies no longer configured (renamed or removed)\n"
          "      --json             JSON output; an object with \"error\" when EC2 could not be read\n" },
        { "adopt", "amirotd [OPTIONS] adopt --policy=NAME [--dry-run] [--region=REGION]",
          "tag existing images the policy's adopt section selects as the policy's own",
          "  -p, --policy=NAME      the policy whose adopt section selects the images (required)\n"
          "      --dry-run          print what would be adopted; change nothing\n"
          "      --region=REGION    only this region of the policy\n" },
        { "status", "amirotd [OPTIONS] status",
          "the service's last run, next slot and images per policy and region",
          "  -p, --policy=NAME      only this policy\n" },
        { "version", "amirotd version", "print the version", "" },
        { "help", "amirotd help [COMMAND]", "this help, or the usage of one command", "" },
};

#define COMMON_OPTIONS \
        "  -c, --config=FILE      global configuration (default /etc/amirotd/amirotd.yaml)\n" \
        "      --policies=DIR     policies directory (default: from the configuration)\n" \
        "      --log-level=LEVEL  debug, info, notice, warning or err\n" \
        "      --log-target=T     auto, journal or console\n" \
        "      --now=TIME         pretend it is TIME (ISO 8601 UTC), for tests\n" \
        "  -h, --help             this help\n"

#define EXIT_STATUS_HELP \
        "Exit status: 0 success; 1 partial failure (some work failed, the rest was done); 2 usage error;\n" \
        "3 AWS could not be read or refused a permission; 78 invalid configuration.\n"

static const command_help *command_help_find(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(command_helps); i++)
                if (streq(command_helps[i].name, name))
                        return &command_helps[i];
        return NULL;
}

static void help(void) {
        printf("Usage: amirotd [OPTIONS] [COMMAND]\n"
               "\n"
               "Keeps golden AMIs fresh: creates images of tagged EC2 instances on each\n"
               "policy's schedule and retires old generations with their snapshots.\n"
               "\n"
               "Commands:\n");
        for (size_t i = 0; i < ELEMENTSOF(command_helps); i++)
                printf("  %-16s %s\n", command_helps[i].name, command_helps[i].summary);
        printf("\n"
               "Options:\n"
               COMMON_OPTIONS
               "  -p, --policy=NAME      only this policy (check, plan, once, list; adopt: required)\n"
               "      --json             JSON output (plan, list)\n"
               "      --dump             print the normalised configuration (check)\n"
               "      --dry-run          send DryRun=true on every change (once); change nothing (adopt)\n"
               "      --region=REGION    only this region of the policy (adopt)\n"
               "      --no-wait          do not wait for new images to become available (once)\n"
               "\n"
               "'amirotd help COMMAND' or 'amirotd COMMAND --help' prints one command's usage.\n"
               EXIT_STATUS_HELP
               "See amirotd(8) and amirotd.yaml(5).\n");
}

static void help_command(const command_help *h) {
        printf("Usage: %s\n\n%c%s.\n\nOptions:\n%s" COMMON_OPTIONS "\n" EXIT_STATUS_HELP
               "See amirotd(8).\n",
               h->synopsis, toupper((unsigned char) h->summary[0]), h->summary + 1, h->options);
}

/* `amirotd help [CMD]`; returns the exit status. */
static int help_for(const char *name) {
        const command_help *h;

        if (!name) {
                help();
                return EXIT_OK;
        }
        h = command_help_find(name);
        if (!h) {
                fprintf(stderr, "amirotd: unknown command '%s'; try 'amirotd --help'\n", name);
                return EXIT_USAGE;
        }
        help_command(h);
        return EXIT_OK;
}

/* --log-level (level) or --log-target: 0, or -EINVAL once reported. */
static int parse_log_option(bool level, const char *arg, log_target *target) {
        int l;

        if (level) {
                l = log_level_from_string(arg);
                if (l < 0) {
                        fprintf(stderr, "amirotd: unknown log level '%s'\n", arg);
                        return -EINVAL;
                }
                log_override_max_level(l);
                return 0;
        }
        *target = log_target_from_string(arg);
        if ((int) *target < 0) {
                fprintf(stderr, "amirotd: unknown log target '%s'\n", arg);
                return -EINVAL;
        }
        return 0;
}

/* Fills o and target. 1: go on with the command; 0: done (--version); -EINVAL: usage error,
 * already reported. --help sets *ret_help: the command, if any, says whose help. */
static int parse_argv(int argc, char **argv, cli_options *o, log_target *target, bool *ret_help) {
        enum { ARG_POLICIES = 0x100, ARG_JSON, ARG_DUMP, ARG_DRY_RUN, ARG_NO_WAIT, ARG_LOG_LEVEL, ARG_LOG_TARGET, ARG_NOW, ARG_VERSION,
               ARG_ORPHANED, ARG_REGION };
        static const struct option options[] = {
                { "config",     required_argument, NULL, 'c' },
                { "policies",   required_argument, NULL, ARG_POLICIES },
                { "policy",     required_argument, NULL, 'p' },
                { "json",       no_argument,       NULL, ARG_JSON },
                { "dump",       no_argument,       NULL, ARG_DUMP },
                { "dry-run",    no_argument,       NULL, ARG_DRY_RUN },
                { "no-wait",    no_argument,       NULL, ARG_NO_WAIT },
                { "orphaned",   no_argument,       NULL, ARG_ORPHANED },
                { "region",     required_argument, NULL, ARG_REGION },
                { "log-level",  required_argument, NULL, ARG_LOG_LEVEL },
                { "log-target", required_argument, NULL, ARG_LOG_TARGET },
                { "now",        required_argument, NULL, ARG_NOW },
                { "version",    no_argument,       NULL, ARG_VERSION },
                { "help",       no_argument,       NULL, 'h' },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "c:p:h", options, NULL)) >= 0)
                switch (c) {
                case 'c':
                        o->config_path = optarg;
                        break;
                case ARG_POLICIES:
                        o->policies_dir = optarg;
                        break;
                case 'p':
                        o->policy = optarg;
                        break;
                case ARG_JSON:
                        o->json = true;
                        break;
                case ARG_DUMP:
                        o->dump = true;
                        break;
                case ARG_DRY_RUN:
                        o->dry_run = true;
                        break;
                case ARG_NO_WAIT:
                        o->no_wait = true;
                        break;
                case ARG_ORPHANED:
                        o->orphaned = true;
                        break;
                case ARG_REGION:
                        o->region = optarg;
                        break;
                case ARG_LOG_LEVEL:
                case ARG_LOG_TARGET:
                        if (parse_log_option(c == ARG_LOG_LEVEL, optarg, target) < 0)
                                return -EINVAL;
                        break;
                case ARG_NOW:
                        if (parse_iso8601(optarg, &o->now) < 0) {
                                fprintf(stderr, "amirotd: --now: '%s' is not an ISO 8601 UTC time\n", optarg);
                                return -EINVAL;
                        }
                        break;
                case ARG_VERSION:
                        puts("amirotd " VERSION);
                        return 0;
                case 'h':
                        *ret_help = true;
                        break;
                default:
                        return -EINVAL;
                }
        return 1;
}

int main(int argc, char **argv) {
        static const struct {
                const char *name;
                int (*run)(const cli_options *o);
        } commands[] = {
                { "check", cmd_check },
                { "plan", cmd_plan },
                { "once", cmd_once },
                { "list", cmd_list },
                { "adopt", cmd_adopt },
                { "status", cmd_status },
        };
        cli_options o = {};
        log_target target = LOG_TARGET_AUTO;
        const char *command;
        bool want_help = false;
        int r;

        /* Keys live in this process (the environment may hold one before anything is read):
         * no core file, and no other process of the same user reads its memory or
         * /proc/PID/environ. Every command, so that none is forgotten; a program that
         * credential_process runs is dumpable again after its execve(). */
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
                fprintf(stderr, "amirotd: cannot make the process non-dumpable, ignoring: %m\n");

        r = parse_argv(argc, argv, &o, &target, &want_help);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : EXIT_OK;

        command = optind < argc ? argv[optind] : NULL;
        if (command && streq(command, "help")) {
                if (optind + 2 < argc) {
                        fprintf(stderr, "amirotd: unexpected argument '%s'\n", argv[optind + 2]);
                        return EXIT_USAGE;
                }
                return help_for(optind + 1 < argc ? argv[optind + 1] : NULL);
        }
        if (want_help)
                return help_for(command);
        if (optind < argc && optind + 1 < argc) {
                fprintf(stderr, "amirotd: unexpected argument '%s'\n", argv[optind + 1]);
                return EXIT_USAGE;
        }
        if (!command)
                command = "run";
        /* only adopt reads it: elsewhere it would look like a limit that is not kept */
        if (o.region && !streq(command, "adopt")) {
                fprintf(stderr, "amirotd: --region is only for 'adopt'; try 'amirotd help adopt'\n");
                return EXIT_USAGE;
        }

        log_open(target);

        if (streq(command, "run"))
                return manager_run(&(manager_options) { .config_path = o.config_path, .policies_dir = o.policies_dir });
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (streq(command, commands[i].name))
                        return commands[i].run(&o);
        if (streq(command, "version")) {
                puts("amirotd " VERSION);
                return EXIT_OK;
        }
        fprintf(stderr, "amirotd: unknown command '%s'; try 'amirotd --help'\n", command);
        return EXIT_USAGE;
}
