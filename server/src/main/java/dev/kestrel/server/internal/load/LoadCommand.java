package dev.kestrel.server.internal.load;

import picocli.CommandLine.Command;

/**
 * {@code kestrel-server load <tool>}: Kestrel's load tools against any memcache-protocol server.
 * Each verifies every byte it reads back and exits non-zero if anything was wrong.
 */
@Command(name = "load", description = "Load tools (Kestrel's scripts/load) against any memcache-protocol server.",
        subcommands = {PutMany.class, Flood.class, ManyClients.class, Packing.class}, mixinStandardHelpOptions = true)
public final class LoadCommand {
}
