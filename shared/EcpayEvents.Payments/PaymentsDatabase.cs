using Dapper;
using MySqlConnector;

[module: DapperAot] // Dapper.AOT: SQL mapping generated at build time (no reflection; Native AOT).

namespace EcpayEvents.Payments;

/// <summary>
/// The MySQL ledger (RDS MySQL 8 via RDS Proxy in production, MariaDB locally). One data source
/// per process; use cases open a connection per unit of work.
/// </summary>
public sealed class PaymentsDatabase(MySqlDataSource dataSource) : IAsyncDisposable
{
    public PaymentsDatabase(string connectionString) : this(new MySqlDataSource(connectionString)) { }

    public ValueTask<MySqlConnection> OpenAsync(CancellationToken ct = default) => dataSource.OpenConnectionAsync(ct);

    public ValueTask DisposeAsync() => dataSource.DisposeAsync();
}
