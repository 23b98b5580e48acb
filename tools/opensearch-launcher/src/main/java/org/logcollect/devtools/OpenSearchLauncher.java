package org.logcollect.devtools;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.opensearch.analysis.common.CommonAnalysisPlugin;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.index.mapper.MapperExtrasPlugin;
import org.opensearch.index.reindex.ReindexPlugin;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.plugins.Plugin;
import org.opensearch.transport.Netty4Plugin;

/**
 * Runs a single OpenSearch node in this JVM, for development and integration tests.
 *
 * <p>Maven Central has the server and its modules as jars but no runnable distribution, and the
 * distribution's own bootstrap expects a plugin folder layout. A Node subclass can instead hand
 * modules to the node as classpath plugins, which is all a single dev node needs.
 *
 * <p>Usage: {@code java -cp 'lib/*:classes' org.logcollect.devtools.OpenSearchLauncher <home>}.
 * Settings come from {@code <home>/config/opensearch.yml}, written by scripts/services.sh, so
 * the script stays the one place that says how the node is configured.
 */
public final class OpenSearchLauncher {

    /** Opens Node's protected constructor, the only one that accepts classpath plugins. */
    static final class ClasspathPluginNode extends Node {
        ClasspathPluginNode(Environment environment, Collection<Class<? extends Plugin>> plugins) {
            // forbidPrivateIndexSettings=true: behave like a real node and refuse index.* internals.
            super(environment, plugins, true);
        }
    }

    private OpenSearchLauncher() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: OpenSearchLauncher <home folder holding config/opensearch.yml>");
            System.exit(2);
        }
        Path home = Paths.get(args[0]).toAbsolutePath();
        Path config = home.resolve("config");
        if (!Files.isRegularFile(config.resolve("opensearch.yml"))) {
            System.err.println("missing " + config.resolve("opensearch.yml"));
            System.exit(2);
        }

        Settings base = Settings.builder().put("path.home", home.toString()).build();
        Environment env = InternalSettingsPreparer.prepareEnvironment(
                base, Collections.emptyMap(), config, () -> "logcollect-dev");

        // The modules of a real distribution that logcollect and its tests rely on; see pom.xml.
        List<Class<? extends Plugin>> plugins = List.of(
                Netty4Plugin.class, CommonAnalysisPlugin.class, ReindexPlugin.class, MapperExtrasPlugin.class);
        Node node = new ClasspathPluginNode(env, plugins);

        CountDownLatch stopped = new CountDownLatch(1);
        // SIGTERM from `services.sh down` runs this hook: close the node so Lucene commits and
        // the data folder stays reusable for the next start.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
                node.awaitClose(20, TimeUnit.SECONDS);
            } catch (Exception e) {
                System.err.println("closing node: " + e);
            } finally {
                stopped.countDown();
            }
        }, "opensearch-launcher-shutdown"));

        node.start();
        System.out.println("OpenSearch node started, home " + home);
        // Node threads are daemon threads: hold the JVM open until the shutdown hook has run.
        stopped.await();
    }
}
