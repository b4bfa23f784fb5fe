// The start-up reference of ./bench.sh: the smallest Native AOT ASP.NET Core app that answers /healthz.
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
var app = builder.Build();
app.MapGet("/healthz", () => "ok");
app.Run();
