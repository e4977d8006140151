# syntax=docker/dockerfile:1
# DesMoe inference server. Build on a machine with a Docker engine (none exists on the dev machines):
#   docker build -t desmoe-server .
#   docker run --rm -p 50051:50051 -v desmoe-data:/data desmoe-server
# The server listens on 0.0.0.0:50051 inside the container and serves the bundled base model on CPU
# unless DesMoe__ModelPath points at another model folder (e.g. under the /data volume); exports of model
# folders to ONNX are kept under /data.

FROM mcr.microsoft.com/dotnet/sdk:10.0-bookworm-slim AS build
WORKDIR /src
COPY . .
RUN dotnet publish src/Server/DesMoe.Server.csproj -c Release -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0-bookworm-slim AS runtime
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 10001 --create-home desmoe && mkdir /data && chown desmoe /data
WORKDIR /app
COPY --from=build /app .
USER desmoe
VOLUME /data
ENV Kestrel__Endpoints__Grpc__Url=http://0.0.0.0:50051 \
    DesMoe__DataDirectory=/data
EXPOSE 50051
ENTRYPOINT ["dotnet", "DesMoe.Server.dll"]
