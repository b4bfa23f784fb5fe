using System.Net;
using System.Net.Sockets;

namespace EcpayEvents.Testing;

public static class FreePort
{
    /// <summary>A currently free TCP port on 127.0.0.1 (for servers that cannot bind port 0 themselves).</summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
