// LoopbackDynamoDBLocal starts DynamoDB Local listening on 127.0.0.1 only.
//
// DynamoDB Local has no option for the address it listens on: its server
// builds a Jetty server from the port alone, which listens on every
// interface. This launcher builds that server from the same command-line
// arguments, sets the host of its one connector to the loopback address
// before starting it, and fails (the process exits) if DynamoDB Local's
// inside ever changes shape, rather than listen anywhere else. The stack runs
// it with java's source-file mode (java -cp DynamoDBLocal.jar THIS_FILE ...).
// DynamoDB Local's own main is bypassed, so it sends no telemetry either.

import java.lang.reflect.Field;

import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

public class LoopbackDynamoDBLocal {
    public static void main(String[] args) throws Exception {
        DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
        Field field = DynamoDBProxyServer.class.getDeclaredField("server");
        field.setAccessible(true);
        Server server = (Server) field.get(proxy);
        Connector[] connectors = server.getConnectors();
        if (connectors.length == 0) {
            throw new IllegalStateException("DynamoDB Local's server has no connector to bind to loopback");
        }
        for (Connector c : connectors) {
            ((ServerConnector) c).setHost("127.0.0.1");
        }
        proxy.start();
    }
}
