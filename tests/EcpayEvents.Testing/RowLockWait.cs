namespace EcpayEvents.Testing;

/// <summary>A transaction waiting for a row lock: its InnoDB id, its connection and the row's table (<c>`db`.`users`</c>).</summary>
public sealed record RowLockWait(string WaitingTrx, long WaitingConnection, string Table)
{
    public bool IsOn(string table) => Table.EndsWith($".`{table}`", StringComparison.Ordinal);

    public override string ToString() => $"trx {WaitingTrx} (connection {WaitingConnection}) on {Table}";
}
