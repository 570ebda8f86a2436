/*
 * Apache Iceberg's RESTCatalogServer (the apache/iceberg-rest-fixture), listening on one address.
 *
 * The fixture's Jetty server listens on every interface. This launcher builds the same backend
 * catalog (from the CATALOG_* variables, by the fixture's own code) and the same servlet, and
 * serves them on REST_HOST:CATALOG_REST_PORT only. Run by scripts/catalog.sh as a single source
 * file: `java -cp '.cluster/rest-catalog/lib/*' cluster/rest-catalog/LocalRESTCatalogServer.java`.
 */
import java.lang.reflect.Constructor;
import java.lang.reflect.Method;
import org.apache.iceberg.rest.RESTCatalogAdapter;
import org.apache.iceberg.rest.RESTCatalogServer;
import org.apache.iceberg.rest.RESTCatalogServlet;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.gzip.GzipHandler;
import org.eclipse.jetty.servlet.ServletContextHandler;
import org.eclipse.jetty.servlet.ServletHolder;

public class LocalRESTCatalogServer {
  public static void main(String[] args) throws Exception {
    String host = System.getenv().getOrDefault("REST_HOST", "127.0.0.1");
    int port = Integer.parseInt(System.getenv().getOrDefault("CATALOG_REST_PORT", "8181"));

    // The fixture's backend catalog and request adapter are package-private: reached by reflection.
    Constructor<RESTCatalogServer> newServer = RESTCatalogServer.class.getDeclaredConstructor();
    newServer.setAccessible(true);
    Method backend = RESTCatalogServer.class.getDeclaredMethod("initializeBackendCatalog");
    backend.setAccessible(true);
    Object context = backend.invoke(newServer.newInstance());
    Class<?> adapterClass = Class.forName("org.apache.iceberg.rest.RESTServerCatalogAdapter");
    Constructor<?> newAdapter = adapterClass.getDeclaredConstructor(context.getClass());
    newAdapter.setAccessible(true);
    RESTCatalogAdapter adapter = (RESTCatalogAdapter) newAdapter.newInstance(context);

    ServletContextHandler handler = new ServletContextHandler(ServletContextHandler.NO_SESSIONS);
    handler.addServlet(new ServletHolder(new RESTCatalogServlet(adapter)), "/*");
    handler.insertHandler(new GzipHandler());
    Server server = new Server();
    ServerConnector connector = new ServerConnector(server);
    connector.setHost(host);
    connector.setPort(port);
    server.addConnector(connector);
    server.setHandler(handler);
    server.start();
    server.join();
  }
}
