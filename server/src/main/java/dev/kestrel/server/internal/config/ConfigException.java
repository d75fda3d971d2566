package dev.kestrel.server.internal.config;

/** A configuration file that cannot be used; the message names the file, the line and the reason. */
public final class ConfigException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** @param message file, line and reason */
    public ConfigException(String message) {
        super(message);
    }
}
