package dev.kestrel.server.internal;

import java.util.Locale;

/**
 * Kestrel's server status, set with the {@code status} command.
 *
 * <ul>
 *   <li>{@code UP}: everything is served.
 *   <li>{@code READONLY}: writes ({@code set}, {@code delete}, {@code flush}, {@code flush_all}) are
 *       refused with {@code SERVER_ERROR}.
 *   <li>{@code QUIESCENT}: reads that take or show an item are refused too; confirming and aborting
 *       open reads still work, so consumers can finish what they hold.
 * </ul>
 */
public enum ServerStatus {
    UP, READONLY, QUIESCENT;

    /** @return whether writes are served */
    public boolean writable() {
        return this == UP;
    }

    /** @return whether reads that take or show an item are served */
    public boolean readable() {
        return this != QUIESCENT;
    }

    /**
     * Parses a status name, in any case.
     *
     * @param name the name
     * @return the status, or {@code null} if there is none of that name
     */
    public static ServerStatus parse(String name) {
        try {
            return valueOf(name.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
