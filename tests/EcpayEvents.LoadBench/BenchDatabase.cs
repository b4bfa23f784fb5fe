using System.Diagnostics;
using System.Text;
using MySqlConnector;

namespace EcpayEvents.LoadBench;

/// <summary>Seeding and counting in the bench's own database (never the shared one: ./bench.sh runs its own MariaDB).</summary>
internal sealed class BenchDatabase(string connectionString)
{
    public async Task<MySqlConnection> OpenAsync()
    {
        var c = new MySqlConnection(connectionString);
        await c.OpenAsync();
        return c;
    }

    /// <summary>Creates <paramref name="users"/> users (named after the prefix) and one pending card deposit per index, spread over them.</summary>
    public async Task SeedAsync(string prefix, int count, int users)
    {
        await using var c = await OpenAsync();
        var ids = new long[users];
        for (var u = 0; u < users; u += 500)
        {
            var n = Math.Min(500, users - u);
            var sql = new StringBuilder("INSERT INTO users (username, email, balance) VALUES ");
            for (var k = 0; k < n; k++) sql.Append(k == 0 ? "" : ",").Append($"('{prefix}u{u + k}', '{prefix}u{u + k}@bench.invalid', 0)");
            await using var cmd = new MySqlCommand(sql.ToString(), c);
            await cmd.ExecuteNonQueryAsync();
            var first = cmd.LastInsertedId;
            for (var k = 0; k < n; k++) ids[u + k] = first + k; // one multi-row insert: consecutive ids (innodb_autoinc_lock_mode 1/2 single statement)
        }
        for (var i = 0; i < count; i += 1000)
        {
            var n = Math.Min(1000, count - i);
            var sql = new StringBuilder("INSERT INTO transactions (user_id, type, amount, status, merchant_trade_no, payment_method, expires_at) VALUES ");
            for (var k = 0; k < n; k++)
            {
                var j = i + k;
                sql.Append(k == 0 ? "" : ",").Append($"({ids[j % users]}, 'deposit', {Payments.Amount(j)}, 'pending', '{Payments.TradeNo(prefix, j)}', 'Credit', UTC_TIMESTAMP(6) + INTERVAL 1 DAY)");
            }
            await using var cmd = new MySqlCommand(sql.ToString(), c);
            await cmd.ExecuteNonQueryAsync();
        }
    }

    /// <summary>Credits of the prefix's deposits: (transaction index, credited at UTC, ledger entries).</summary>
    public async Task<List<(int Index, DateTime CreditedAt, int Entries)>> CreditsAsync(string prefix)
    {
        await using var c = await OpenAsync();
        await using var cmd = new MySqlCommand("""
            SELECT t.merchant_trade_no, MIN(l.created_at), COUNT(*)
            FROM transactions t JOIN ledger_entries l ON l.transaction_id = t.id
            WHERE t.merchant_trade_no LIKE @p GROUP BY t.id, t.merchant_trade_no
            """, c);
        cmd.Parameters.AddWithValue("@p", prefix + "%");
        var list = new List<(int, DateTime, int)>();
        await using var r = await cmd.ExecuteReaderAsync();
        while (await r.ReadAsync())
            list.Add((int.Parse(r.GetString(0).AsSpan(prefix.Length)), DateTime.SpecifyKind(r.GetDateTime(1), DateTimeKind.Utc), (int)r.GetInt64(2)));
        return list;
    }

    public async Task<long> CountCreditedAsync(string prefix)
    {
        await using var c = await OpenAsync();
        await using var cmd = new MySqlCommand("SELECT COUNT(*) FROM transactions WHERE merchant_trade_no LIKE @p AND status = 'completed'", c);
        cmd.Parameters.AddWithValue("@p", prefix + "%");
        return Convert.ToInt64(await cmd.ExecuteScalarAsync());
    }

    /// <summary>Users whose balance differs from the sum of their ledger entries (must be 0).</summary>
    public async Task<long> OutOfBalanceAsync()
    {
        await using var c = await OpenAsync();
        await using var cmd = new MySqlCommand("""
            SELECT COUNT(*) FROM users u
            WHERE u.balance <> (SELECT COALESCE(SUM(l.amount), 0) FROM ledger_entries l WHERE l.user_id = u.id)
            """, c);
        return Convert.ToInt64(await cmd.ExecuteScalarAsync());
    }

    /// <summary>Waits until <paramref name="count"/> deposits of the prefix are completed, or the deadline.</summary>
    public async Task<long> WaitCreditedAsync(string prefix, int count, TimeSpan deadline)
    {
        var clock = Stopwatch.StartNew();
        long credited;
        while ((credited = await CountCreditedAsync(prefix)) < count && clock.Elapsed < deadline) await Task.Delay(200);
        return credited;
    }

    /// <summary>
    /// MariaDB's raw rate at the bench's durability: single-row autocommit balance updates
    /// (<c>UPDATE … SET balance = balance + 1 WHERE id = ?</c>, prepared) over <paramref name="rows"/> rows of a
    /// table of the bench's own (the users' balances must stay equal to their ledgers).
    /// </summary>
    public async Task<(long Updates, double Seconds)> RawUpdatesAsync(int rows, int connections, TimeSpan time)
    {
        await using (var c = await OpenAsync())
        {
            await using var create = new MySqlCommand("""
                CREATE TABLE IF NOT EXISTS bench_raw_balances (id BIGINT NOT NULL PRIMARY KEY, balance BIGINT NOT NULL) ENGINE=InnoDB;
                INSERT IGNORE INTO bench_raw_balances (id, balance) SELECT seq, 0 FROM seq_1_to_100000 WHERE seq <= @rows;
                """, c);
            create.Parameters.AddWithValue("@rows", rows);
            await create.ExecuteNonQueryAsync();
        }
        long total = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, connections).Select(async w =>
        {
            await using var c = await OpenAsync();
            await using var cmd = new MySqlCommand("UPDATE bench_raw_balances SET balance = balance + 1 WHERE id = @id", c);
            var id = cmd.Parameters.Add("@id", MySqlDbType.Int64);
            await cmd.PrepareAsync();
            var rnd = new Random(w);
            long n = 0;
            while (clock.Elapsed < time)
            {
                id.Value = rnd.Next(1, rows + 1);
                await cmd.ExecuteNonQueryAsync();
                n++;
            }
            Interlocked.Add(ref total, n);
        }));
        return (total, clock.Elapsed.TotalSeconds);
    }
}
