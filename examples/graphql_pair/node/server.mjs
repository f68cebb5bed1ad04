// The pair's candidate: the same API in GraphQL Yoga (npm) on Node's http module.
//
//     node server.mjs 8302            PLANTED=1 node server.mjs 8302
//
// With PLANTED set, one course has another title: the difference a certification must find.
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { GraphQLError } from "graphql";
import { createSchema, createYoga } from "graphql-yoga";

const data = JSON.parse(readFileSync(new URL("../data.json", import.meta.url), "utf8"));
if (process.env.PLANTED) {
  data.courses[1].title = "Data Science with Polars";
}
const courses = new Map(data.courses.map((course) => [course.id, course]));
const users = new Map(data.users.map((user) => [user.id, user]));

const typeDefs = /* GraphQL */ `
  type Course { id: ID! title: String! tags: [String!]! }
  type Progress { course: Course! percent: Float! }
  type User { id: ID! name: String! progress: [Progress!]! }
  type Query {
    user(id: ID!): User
    courses(tag: String): [Course!]!
    leaderboard: [User!]!
  }
`;

const userOf = (user) => ({
  id: user.id,
  name: user.name,
  progress: user.progress.map((p) => ({ course: courses.get(p.course), percent: p.percent })),
});

const resolvers = {
  Query: {
    user: (_, { id }) => {
      const user = users.get(id);
      if (!user) {
        throw new GraphQLError(`No user with id ${id}`, { extensions: { code: "NOT_FOUND" } });
      }
      return userOf(user);
    },
    courses: (_, { tag }) => data.courses.filter((c) => tag == null || c.tags.includes(tag)),
    leaderboard: () =>
      [...data.users]
        .sort((a, b) => sum(b) - sum(a))
        .map(userOf),
  },
};

const sum = (user) => user.progress.reduce((total, p) => total + p.percent, 0);

const yoga = createYoga({
  schema: createSchema({ typeDefs, resolvers }),
  graphqlEndpoint: "/graphql",
  graphiql: false,
  logging: false,
  maskedErrors: false,
});

createServer(yoga).listen(Number(process.argv[2]), "127.0.0.1");
