# The controller image: build with the pinned Node 24, run on a slim Node 24 as a non-root user.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json && npm prune --omit=dev --ignore-scripts

FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
USER 65532:65532
EXPOSE 8080
# V8 sizes its heap from the container's memory limit, nearly all of it: half leaves room for the
# ~80 MiB outside the heap, so garbage is collected before the kernel would kill the pod
# (docs/sizing.md). The flag needs Node.js 24.21 or newer, as the project pins.
ENTRYPOINT ["node", "--max-old-space-size-percentage=50", "dist/cli.js"]
CMD ["run"]
