/* SPDX-License-Identifier: MIT */
/* amirotd's command line: parses it and calls in. See amirotd(8). */
#include <getopt.h>
#include <stdio.h>

#include "commands.h"
#include "base/log.h"
#include "loop.h"
#include "status.h"

static void help(void) {
        printf("Usage: amirotd [OPTIONS] COMMAND\n"
               "\n"
               "Keeps golden AMIs fresh: creates images of tagged EC2 instances on each\n"
               "policy's schedule and retires old generations with their snapshots.\n"
               "\n"
               "Commands:\n"
               "  check            validate the configuration and summarise each policy\n"
               "  plan             read EC2 and print what the next run would do\n"
               "  once             run one cycle of every policy now, then exit\n"
               "  list             list the managed images per policy and instance\n"
               "  status           the service's last run, next slot and images per policy and region\n"
               "  version          print the version\n"
               "\n"
               "Options:\n"
               "  -c, --config=FILE      global configuration (default /etc/amirotd/amirotd.yaml)\n"
               "      --policies=DIR     policies directory (default: from the configuration)\n"
               "  -p, --policy=NAME      only this policy\n"
               "      --json             JSON output (plan, list)\n"
               "      --dump             print the normalised configuration (check)\n"
               "      --dry-run          send DryRun=true on every change (once)\n"
               "      --no-wait          do not wait for new images to become available (once)\n"
               "      --log-level=LEVEL  debug, info, notice, warning or err\n"
               "      --log-target=T     auto, journal or console\n"
               "      --now=TIME         pretend it is TIME (ISO 8601 UTC), for tests\n"
               "  -h, --help             this help\n"
               "\n"
               "Exit status: 0 success, 1 invalid configuration or a failed action, 2 usage error.\n");
}

/* Fills o and target. 1: go on with the command; 0: done (--help, --version); -EINVAL: usage error,
 * already reported. */
static int parse_argv(int argc, char **argv, cli_options *o, log_target *target) {
        enum { ARG_POLICIES = 0x100, ARG_JSON, ARG_DUMP, ARG_DRY_RUN, ARG_NO_WAIT, ARG_LOG_LEVEL, ARG_LOG_TARGET, ARG_NOW, ARG_VERSION };
        static const struct option options[] = {
                { "config",     required_argument, NULL, 'c' },
                { "policies",   required_argument, NULL, ARG_POLICIES },
                { "policy",     required_argument, NULL, 'p' },
                { "json",       no_argument,       NULL, ARG_JSON },
                { "dump",       no_argument,       NULL, ARG_DUMP },
                { "dry-run",    no_argument,       NULL, ARG_DRY_RUN },
                { "no-wait",    no_argument,       NULL, ARG_NO_WAIT },
                { "log-level",  required_argument, NULL, ARG_LOG_LEVEL },
                { "log-target", required_argument, NULL, ARG_LOG_TARGET },
                { "now",        required_argument, NULL, ARG_NOW },
                { "version",    no_argument,       NULL, ARG_VERSION },
                { "help",       no_argument,       NULL, 'h' },
                {}
        };
        int c, level;

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
                case ARG_LOG_LEVEL:
                        level = log_level_from_string(optarg);
                        if (level < 0) {
                                fprintf(stderr, "amirotd: unknown log level '%s'\n", optarg);
                                return -EINVAL;
                        }
                        log_override_max_level(level);
                        break;
                case ARG_LOG_TARGET:
                        *target = log_target_from_string(optarg);
                        if ((int) *target < 0) {
                                fprintf(stderr, "amirotd: unknown log target '%s'\n", optarg);
                                return -EINVAL;
                        }
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
                        help();
                        return 0;
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
                { "status", cmd_status },
        };
        cli_options o = {};
        log_target target = LOG_TARGET_AUTO;
        const char *command;
        int r;

        r = parse_argv(argc, argv, &o, &target);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : EXIT_OK;

        log_open(target);

        command = optind < argc ? argv[optind] : "run";
        if (optind < argc && optind + 1 < argc) {
                fprintf(stderr, "amirotd: unexpected argument '%s'\n", argv[optind + 1]);
                return EXIT_USAGE;
        }

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
