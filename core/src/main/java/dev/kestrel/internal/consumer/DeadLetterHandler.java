package dev.kestrel.internal.consumer;

import dev.kestrel.DurableQueue;
import dev.kestrel.QueueConsumer;

/**
 * The poison hook behind {@link QueueConsumer.Builder#deadLetterQueue(DurableQueue)}: puts the
 * item's bytes, unchanged, into the dead-letter queue. It throws when that queue refuses the item,
 * so the consumer aborts the read instead of confirming it and the item is not lost.
 */
public final class DeadLetterHandler implements QueueConsumer.PoisonHandler {
    private final DurableQueue deadLetters;

    /**
     * Creates the hook.
     *
     * @param deadLetters where poison items go
     */
    public DeadLetterHandler(DurableQueue deadLetters) {
        this.deadLetters = deadLetters;
    }

    @Override
    public void onPoison(byte[] data, int attempts, Throwable lastFailure) {
        if (!deadLetters.put(data)) {
            throw new IllegalStateException("queue=" + deadLetters.name() + " length=" + data.length
                    + ": the dead-letter queue refused the item (its maxItems, maxSize or maxItemSize)");
        }
    }

    /**
     * Names a poison hook for messages: {@code deadLetterQueue=<name>} for this hook, else
     * {@code onPoison}.
     *
     * @param hook the hook
     * @return the name
     */
    public static String describe(QueueConsumer.PoisonHandler hook) {
        return hook instanceof DeadLetterHandler ? hook.toString() : "onPoison";
    }

    @Override
    public String toString() {
        return "deadLetterQueue=" + deadLetters.name();
    }
}
