/**
 * jcstress tests of the journal's cross-thread protocols.
 *
 * <p><b>What is the engine's code and what is not.</b> Every access to a record (the length word's
 * claim, release store and acquire load, the plain header and payload, the state word's CAS) and
 * every checksum is a call of the engine's own {@code RecordDescriptor} and {@code Checksums}, on a
 * direct or a memory-mapped buffer like a segment's. Restated, because the engine's classes that
 * hold them cannot be made per jcstress state without a queue and a mapped file each: the order of
 * the writer's steps ({@code Appender.append}; {@link dev.kestrel.concurrency.AppendSteps}, checked
 * byte for byte against a real put by {@code AppendStepsTest}), the consumer's waiting rule
 * ({@code Head.laterClaims}, in {@link dev.kestrel.concurrency.ClaimThenTakeTest}), and the
 * segment's tail word ({@link dev.kestrel.concurrency.TailWordModel}, a model checked against a
 * real {@code Segment} by {@code TailWordModelTest}).
 *
 * <p>{@code mvn verify} runs a short pass ({@code -m quick} with one compilation mode, 18 forks,
 * about a minute and a half on two cores; see this module's pom and
 * {@link dev.kestrel.concurrency.RunAndCheck}, which fails the build on a FORBIDDEN outcome, an
 * error or a silent negative control). {@code mvn verify -Plong} runs the full quick mode (28 JVM
 * and compilation configurations per test, 252 forks, about 40 minutes on two cores), as does
 * {@code java -jar concurrency-tests/target/jcstress.jar -m quick}, or with the checks of
 * negative controls {@code java -cp concurrency-tests/target/jcstress.jar
 * dev.kestrel.concurrency.RunAndCheck -m quick}; {@code -t <regexp>} selects tests,
 * {@code -m default} or {@code -m tough} runs longer. Tests with more actors than the machine has
 * CPUs are skipped by jcstress, so every test here has two actors (and, where a third party is
 * needed, an arbiter or a second role for one actor).
 *
 * <p>Each test class also holds a <em>negative control</em> ({@code Broken*}): the same race with
 * the protocol broken on purpose, whose forbidden outcome must show up, so that the tests are seen
 * to be able to fail.
 *
 * <p>Vocabulary, as in the engine: <em>release</em> store and <em>acquire</em> load of the length
 * word publish a record; <em>plain</em> accesses write the header and payload before it and read
 * them after it; the state word is moved by a <em>volatile CAS</em>; the tail word by a
 * <em>volatile getAndAdd</em>.
 */
package dev.kestrel.concurrency;
